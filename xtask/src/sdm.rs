//! `cargo xtask sdm ...`: the product on the workspace's own database, with nothing to set up.
//!
//! It holds the database server (the ephemeral cluster unless `DATABASE_URL` is set), applies
//! the pending migrations, then runs the real `sdm` binary with `DATABASE_URL` pointing at the
//! `sdm` database. The cluster keeps its data under `target/sdm-pg/` between runs.

use anyhow::Context;
use xshell::{cmd, Shell};

use crate::{database, flags};

impl flags::Sdm {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let asks_for_help = self.args.iter().any(|a| a == "--help" || a == "-h");
        // These show or change the database's migrations themselves: it must reach them as it is.
        let shows_migrations = self
            .args
            .iter()
            .find(|a| !a.to_string_lossy().starts_with('-'))
            .is_some_and(|command| ["migrate", "showmigrations", "check"].iter().any(|c| command == c));
        let mut server = database::server()?;
        if !asks_for_help && !shows_migrations {
            let mut client = server.connect()?;
            let run = migrator::migrate::run(&mut client, &database::migrations()?)
                .with_context(|| format!("migrate {}", migrator::db::redact(server.url())))?;
            if run.changed_anything() {
                for line in run.describe(&format!("database {}", server.database_name())) {
                    eprintln!("{line}");
                }
            }
        }
        // A first build takes a minute: say so while it runs, rather than look hung.
        ::squash::steps::heartbeat("build sdm (cargo build --bin sdm)", || {
            cmd!(sh, "cargo build --quiet --package app --bin sdm").quiet().run()
        })?;
        let args = self.args;
        let sdm = cmd!(sh, "cargo run --quiet --package app --bin sdm -- {args...}").env("DATABASE_URL", server.url());
        // In the caller's folder, with the terminal's input and output: as if sdm ran by itself.
        let status = std::process::Command::from(sdm)
            .current_dir(std::env::current_dir().context("read the current folder")?)
            .status()
            .context("run sdm (cargo run --bin sdm)")?;
        server.stop()?;
        // sdm has said what went wrong; pass its exit code on, and say nothing more.
        if !status.success() {
            std::process::exit(status.code().unwrap_or(1));
        }
        Ok(())
    }
}
