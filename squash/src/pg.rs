//! The `pg_dump` and `pg_restore` calls squash makes, on its scratch databases.

use std::path::Path;

use anyhow::Context;
use devdb::{Server, TestDatabase};
use xshell::{cmd, Shell};

/// Writes a custom-format, schema-only dump of `db` to `out`, grants included.
pub fn dump_custom(sh: &Shell, server: &Server, db: &TestDatabase, out: &Path) -> anyhow::Result<()> {
    let pg_dump = server.bin("pg_dump")?;
    let url = db.url();
    // The password goes in the child's environment: a command line is visible to every user.
    let (conninfo, password) = migrator::conninfo::without_password(url);
    let mut command = cmd!(sh, "{pg_dump} -Fc --schema-only --no-owner -f {out} -d {conninfo}").secret();
    if let Some(password) = password {
        command = command.env("PGPASSWORD", password);
    }
    run(command, "pg_dump", url)?;
    Ok(())
}

/// Returns the SQL of a whole custom-format archive, as `pg_dump` would have printed it.
pub fn restore_text(sh: &Shell, server: &Server, archive: &Path) -> anyhow::Result<String> {
    let pg_restore = server.bin("pg_restore")?;
    run(cmd!(sh, "{pg_restore} --no-owner -f - {archive}"), "pg_restore", "")
}

/// Returns the verbose table of contents of a custom-format archive.
pub fn list(sh: &Shell, server: &Server, archive: &Path) -> anyhow::Result<String> {
    let pg_restore = server.bin("pg_restore")?;
    run(cmd!(sh, "{pg_restore} -l -v {archive}"), "pg_restore -l", "")
}

/// Runs a tool, returning its output; a failure carries its error output (passwords removed).
fn run(command: xshell::Cmd<'_>, what: &str, url: &str) -> anyhow::Result<String> {
    let output = command.quiet().ignore_status().output().with_context(|| format!("run {what}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        anyhow::bail!("{what} failed ({}): {}", output.status, migrator::db::scrub(stderr.trim(), url));
    }
    String::from_utf8(output.stdout).with_context(|| format!("{what} printed invalid UTF-8"))
}
