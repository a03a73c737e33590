//! The `pg_dump` and `pg_restore` calls squash makes, on its scratch databases.

use std::path::Path;

use anyhow::Context;
use devdb::{Server, TestDatabase};
use xshell::{cmd, Shell};

/// Writes a custom-format, schema-only dump of `db` to `out`, grants included.
pub fn dump_custom(sh: &Shell, server: &Server, db: &TestDatabase, out: &Path) -> anyhow::Result<()> {
    let pg_dump = server.bin("pg_dump")?;
    run_on(db, "pg_dump", |conninfo| cmd!(sh, "{pg_dump} -Fc --schema-only --no-owner -f {out} -d {conninfo}"))?;
    Ok(())
}

/// Restores a custom-format archive into `db`, as a plain `pg_restore` does.
pub fn restore_into(sh: &Shell, server: &Server, archive: &Path, db: &TestDatabase) -> anyhow::Result<()> {
    let pg_restore = server.bin("pg_restore")?;
    run_on(db, "pg_restore", |conninfo| cmd!(sh, "{pg_restore} --no-owner --exit-on-error -d {conninfo} {archive}"))?;
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

/// Returns `command` with `password` (if any) in its `PGPASSWORD`, leaving an inherited one alone
/// otherwise: a command line is visible to every user, a child's environment is not.
pub fn with_password(command: xshell::Cmd<'_>, password: Option<String>) -> xshell::Cmd<'_> {
    match password {
        Some(password) => command.env("PGPASSWORD", password),
        None => command,
    }
}

/// Runs the tool `command` makes for a connection string to `db` (without its password, which
/// goes in the child's environment: a command line is visible to every user).
fn run_on<'a>(
    db: &TestDatabase,
    what: &str,
    command: impl FnOnce(String) -> xshell::Cmd<'a>,
) -> anyhow::Result<String> {
    let url = db.url();
    let (conninfo, password) = migrator::conninfo::without_password(url);
    run(with_password(command(conninfo).secret(), password), what, url)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::*;

    /// The command lines of the processes running now whose arguments hold `needle`.
    fn command_lines_with(needle: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
        entries
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
            .filter(|line| line.contains(needle))
            .collect()
    }

    #[test]
    fn pg_dump_gets_the_password_in_its_environment_never_on_its_command_line() {
        let password = "Dump:S3cret";
        let bin_dir = devdb::test_server().bin("initdb").unwrap().parent().unwrap().to_path_buf();
        let cluster = devdb::PasswordCluster::start(&bin_dir, "dumper", password).unwrap_or_else(|e| panic!("{e}"));
        let url = migrator::conninfo::with_param(&cluster.url(), "password", password);
        let server = Server::external(url);
        let db = server.test_database(None).unwrap_or_else(|e| panic!("{}", migrator::db::with_sources(&e)));
        let out = cluster.dir().join("dump-with-a-password.archive");
        // Watch every process's command line while pg_dump runs (it names the archive).
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (done, needle) = (done.clone(), out.display().to_string());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    seen.extend(command_lines_with(&needle));
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                seen
            })
        };
        let dumped = dump_custom(&Shell::new().unwrap(), &server, &db, &out);
        done.store(true, Ordering::SeqCst);
        let seen = watcher.join().unwrap();
        // The server checks passwords (scram-sha-256 over TCP): the dump ran, so it had it.
        dumped.unwrap_or_else(|e| panic!("{e:#}"));
        assert!(out.exists());
        assert!(seen.iter().any(|line| line.contains("pg_dump")), "pg_dump's command line was seen: {seen:?}");
        for line in &seen {
            assert!(!line.contains("S3cret"), "a password on a command line: {line}");
        }
    }
}
