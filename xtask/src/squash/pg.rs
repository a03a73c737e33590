//! Scratch databases that drop themselves, and the `pg_dump`/`pg_restore` calls squash makes.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use devdb::Server;
use xshell::{cmd, Shell};

/// Prefix of every database squash creates; `<prefix><pid>_<n>_<purpose>`.
const PREFIX: &str = "sdm_squash_";

/// A database that exists for one squash step and is dropped with this value.
pub struct ScratchDb<'a> {
    server: &'a Server,
    name: String,
}

impl<'a> ScratchDb<'a> {
    /// Creates an empty database (from `template0`, so nothing but the migrations is in it).
    pub fn create(server: &'a Server, purpose: &str) -> anyhow::Result<ScratchDb<'a>> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!("{PREFIX}{}_{}_{purpose}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        server.create_database(&name, Some("template0")).with_context(|| format!("create scratch database {name}"))?;
        Ok(ScratchDb { server, name })
    }

    pub fn url(&self) -> String {
        self.server.url_for(&self.name)
    }

    pub fn connect(&self) -> anyhow::Result<postgres::Client> {
        Ok(app::db::connect(&self.url())?)
    }
}

impl Drop for ScratchDb<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.server.drop_database(&self.name) {
            eprintln!("warning: could not drop scratch database {}: {e}", self.name);
        }
    }
}

/// Drops scratch databases left by squash runs that were killed (their process is gone).
///
/// Only on the throwaway local cluster: on a real server another machine's process may own them.
pub fn drop_stale_scratch(server: &Server) -> anyhow::Result<()> {
    if !server.is_ephemeral() {
        return Ok(());
    }
    let mut admin = app::db::connect(&server.url_for("postgres"))?;
    let rows = admin.query("SELECT datname::text FROM pg_database WHERE datname LIKE 'sdm\\_squash\\_%'", &[])?;
    for row in rows {
        let name: String = row.get(0);
        let pid = name[PREFIX.len()..].split('_').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                server.drop_database(&name)?;
            }
        }
    }
    Ok(())
}

/// Writes a custom-format, schema-only dump of `db` to `out`.
pub fn dump_custom(sh: &Shell, server: &Server, db: &ScratchDb, out: &Path) -> anyhow::Result<()> {
    let pg_dump = server.bin("pg_dump");
    let url = db.url();
    let command = cmd!(sh, "{pg_dump} -Fc --schema-only --no-owner --no-privileges -f {out} -d {url}").secret();
    run(command, "pg_dump", &url)?;
    Ok(())
}

/// Returns a plain, schema-only dump of `db`, as the proof compares it.
pub fn dump_plain(sh: &Shell, server: &Server, db: &ScratchDb) -> anyhow::Result<String> {
    let pg_dump = server.bin("pg_dump");
    let url = db.url();
    let command = cmd!(sh, "{pg_dump} --schema-only --no-owner --no-privileges -d {url}").secret();
    run(command, "pg_dump", &url)
}

/// Returns the SQL of a whole custom-format archive, as `pg_dump` would have printed it.
pub fn restore_text(sh: &Shell, server: &Server, archive: &Path) -> anyhow::Result<String> {
    let pg_restore = server.bin("pg_restore");
    run(cmd!(sh, "{pg_restore} --no-owner --no-privileges -f - {archive}"), "pg_restore", "")
}

/// Returns the verbose table of contents of a custom-format archive.
pub fn list(sh: &Shell, server: &Server, archive: &Path) -> anyhow::Result<String> {
    let pg_restore = server.bin("pg_restore");
    run(cmd!(sh, "{pg_restore} -l -v {archive}"), "pg_restore -l", "")
}

/// Returns the SQL that restoring the entries in `list_file` (in that order) would run.
pub fn restore_sql(sh: &Shell, server: &Server, archive: &Path, list_file: &Path) -> anyhow::Result<String> {
    let pg_restore = server.bin("pg_restore");
    run(cmd!(sh, "{pg_restore} --no-owner --no-privileges -L {list_file} -f - {archive}"), "pg_restore -L", "")
}

/// Runs a tool, returning its output; a failure carries its error output (passwords removed).
fn run(command: xshell::Cmd<'_>, what: &str, url: &str) -> anyhow::Result<String> {
    let output = command.quiet().ignore_status().output().with_context(|| format!("run {what}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        anyhow::bail!("{what} failed ({}): {}", output.status, app::db::scrub(stderr.trim(), url));
    }
    String::from_utf8(output.stdout).with_context(|| format!("{what} printed invalid UTF-8"))
}
