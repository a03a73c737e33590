//! `cargo xtask migrate` and `status`, and the server every command works on.

use std::path::Path;

use anyhow::Context;
use devdb::Server;
use migrator::migrations::MigrationSet;
use xshell::Shell;

use crate::flags;

/// Returns `DATABASE_URL`'s server, or the ephemeral cluster (stopped when the value drops).
pub fn server() -> anyhow::Result<Server> {
    Server::from_env().context("open database server")
}

/// Returns the migrations compiled into the app: what `sdm migrate` applies.
pub fn migrations() -> anyhow::Result<MigrationSet> {
    app::migrations::embedded().context("load embedded migrations")
}

/// Loads and validates the migrations folder `dir` (names, unique versions, module folders),
/// which must hold at least one migration.
pub fn migrations_in(dir: &Path) -> anyhow::Result<MigrationSet> {
    let set = MigrationSet::from_dir(dir)?;
    anyhow::ensure!(!set.files.is_empty(), "{} holds no migrations", dir.display());
    Ok(set)
}

impl flags::Migrate {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let server = server()?;
        let set = match &self.migrations {
            Some(dir) => migrations_in(dir)?,
            None => migrations()?,
        };
        let mut client = server.connect()?;
        if self.dry_run {
            let pending: Vec<_> = migrator::migrate::status(&mut client, &set)?
                .into_iter()
                .filter(|s| s.applied_on.is_none() && !s.missing_file)
                .collect();
            println!("would apply {} migration(s):", pending.len());
            for s in pending {
                println!("  V{}__{}", s.version, s.name);
            }
            return Ok(());
        }
        let options = migrator::migrate::RunOptions {
            locks: migrator::migrate::LockPolicy::from_env()?
                .with_flags(self.lock_timeout.as_deref(), self.lock_retries)?,
            lock_connection: Some(server.connect()?),
            report: Box::new(|note| eprintln!("{note}")),
        };
        let run = migrator::migrate::run_with(&mut client, &set, options)?;
        for line in run.describe(&migrator::db::redact(server.url())) {
            println!("{line}");
        }
        Ok(())
    }
}

impl flags::Status {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let server = server()?;
        let mut client = server.connect()?;
        let set = migrations()?;
        let (statuses, verdict) = migrator::migrate::status_and_check(&mut client, &set)?;
        print!("{}", migrator::migrate::show_migrations(&statuses));
        verdict.context("`sdm migrate` would refuse this database")?;
        Ok(())
    }
}
