//! Postgres majors: which the project supports, which binaries the machine has for each, and which
//! client tools (`pg_dump`, `pg_restore`, `psql`) may work on a given server.
//!
//! Binaries are looked for in `$PG_BIN` (when set, the only choice), `/usr/lib/postgresql/<major>/bin`
//! (Debian's packages) and `target/pg/<major>/bin` (what `tools/pg-binaries.py` installs). A client
//! tool must be of the server's major or newer: an older `pg_dump` refuses a newer server, and a
//! newer one reads every older server.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::{Error, Result};

/// The Postgres majors the project supports and tests (the oldest and newest in CI's tier).
pub const SUPPORTED_MAJORS: [u32; 5] = [14, 15, 16, 17, 18];

/// The setting that chooses the ephemeral cluster's major, e.g. `SDM_PG_VERSION=18`.
pub const VERSION_SETTING: &str = "SDM_PG_VERSION";

/// A folder of Postgres binaries and the major they belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinDir {
    /// The major, read from the binaries themselves (`pg_dump --version`, `postgres --version`).
    pub major: u32,
    /// The folder, e.g. `/usr/lib/postgresql/15/bin`.
    pub path: PathBuf,
}

impl fmt::Display for BinDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.major, self.path.display())
    }
}

/// Returns the major `SDM_PG_VERSION` asks for, if set; refuses one the project does not support.
pub fn requested_major() -> Result<Option<u32>> {
    let Some(value) = std::env::var_os(VERSION_SETTING) else { return Ok(None) };
    parse_requested(&value.to_string_lossy())
}

/// Returns the supported major a setting's `value` names (`18` or `18.6`), `None` when empty.
fn parse_requested(value: &str) -> Result<Option<u32>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    // `18` or `18.6`: the major is what chooses the binaries.
    match value.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
        Some(major) if SUPPORTED_MAJORS.contains(&major) => Ok(Some(major)),
        _ => Err(Error::UnsupportedMajor { setting: format!("{VERSION_SETTING}={value}") }),
    }
}

/// Returns the folder of the workspace's target directory, where `tools/pg-binaries.py` installs.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("..")).join("target"))
}

/// Returns every folder on the machine that holds `tool`, with its major, oldest first; `$PG_BIN`
/// alone when it is set.
///
/// Found once per process and tool: finding runs `pg_config` and each candidate's `--version`,
/// and a squash asks for its tools several times.
/// Binaries installed while the process runs are not seen.
pub fn installed(tool: &str) -> Vec<BinDir> {
    type Found = BTreeMap<(String, Option<OsString>), Vec<BinDir>>;
    static FOUND: Mutex<Found> = Mutex::new(BTreeMap::new());
    let key = (tool.to_string(), std::env::var_os("PG_BIN"));
    let cached = FOUND.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
    cached.unwrap_or_else(|| {
        let found = find_installed(tool);
        FOUND.lock().unwrap_or_else(|e| e.into_inner()).insert(key, found.clone());
        found
    })
}

fn find_installed(tool: &str) -> Vec<BinDir> {
    let mut found = Vec::new();
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let path = PathBuf::from(dir);
        found.extend(major_of(&path, tool).map(|major| BinDir { major, path }));
        return found;
    }
    // Each file is asked once (`/bin` and `/usr/bin` are often one folder). Debian's `pg_wrapper`
    // (what its /usr/bin/pg_dump and the like link to) is not asked: it is a Perl script that
    // runs one of the /usr/lib/postgresql/*/bin tools, which are read below.
    let mut asked: BTreeMap<PathBuf, Option<u32>> = BTreeMap::new();
    let mut major_in = |dir: &Path| -> Option<u32> {
        let file = dir.join(tool).canonicalize().ok()?;
        if file == Path::new("/usr/share/postgresql-common/pg_wrapper") {
            return None;
        }
        *asked.entry(file).or_insert_with(|| major_of(dir, tool))
    };
    // Whatever the machine runs by name too: `pg_config --bindir`, and the tool on PATH.
    let bindir = Command::new("pg_config").arg("--bindir").output().ok().filter(|o| o.status.success());
    let on_path = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    for path in bindir.map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())).into_iter().chain(on_path) {
        if path.join(tool).exists() {
            found.extend(major_in(&path).map(|major| BinDir { major, path }));
        }
    }
    let roots = [PathBuf::from("/usr/lib/postgresql"), target_dir().join("pg")];
    for root in roots {
        for entry in fs::read_dir(&root).into_iter().flatten().flatten() {
            let path = entry.path().join("bin");
            // The folder's name is only a hint: the major is the binary's own.
            if entry.file_name().to_str().is_some_and(|n| n.parse::<u32>().is_ok()) && path.join(tool).exists() {
                // tools/pg-binaries.py links target/pg/<major> to a folder the `postgres` user can
                // reach when target/ is closed to it: the server must run from the link's target.
                let path = path.canonicalize().unwrap_or(path);
                if let Some(major) = major_in(&path) {
                    found.push(BinDir { major, path });
                }
            }
        }
    }
    // One folder per major, the last found (a versioned folder rather than PATH's wrapper).
    found.reverse();
    found.sort_by_key(|d| d.major);
    found.dedup_by_key(|d| d.major);
    found
}

/// Returns the server binaries (`initdb`, `postgres`) of `major`, or says how to install them.
pub fn server_bin_dir(major: u32) -> Result<PathBuf> {
    let found = installed("postgres");
    if let Some(dir) = found.iter().find(|d| d.major == major && d.path.join("initdb").exists()) {
        return Ok(dir.path.clone());
    }
    Err(Error::NoBinariesForMajor { major, found: list(&found) })
}

/// Returns the folder of a client tool `tool` for a server of `server_major`: the oldest installed
/// major that is the server's or newer, or an error naming both versions and the fix.
pub fn client_bin_dir(tool: &str, server_major: u32) -> Result<BinDir> {
    choose_client(&installed(tool), tool, server_major)
}

/// Chooses among `found` (oldest first) the folder of `tool` for a server of `server_major`.
fn choose_client(found: &[BinDir], tool: &str, server_major: u32) -> Result<BinDir> {
    if let Some(dir) = found.iter().find(|d| d.major >= server_major) {
        return Ok(dir.clone());
    }
    Err(Error::ClientTooOld { tool: tool.to_string(), server_major, found: list(found) })
}

/// Reads the major of `tool` in `dir` from `tool --version` (`pg_dump (PostgreSQL) 18.6`).
pub fn major_of(dir: &Path, tool: &str) -> Option<u32> {
    let out = Command::new(dir.join(tool)).arg("--version").output().ok()?;
    parse_version_major(&String::from_utf8_lossy(&out.stdout))
}

/// Returns the major of a `--version` line such as `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0)`.
fn parse_version_major(text: &str) -> Option<u32> {
    let version = text.split(')').nth(1)?.split_whitespace().next()?;
    version.split(['.', 'b', 'r']).next()?.parse().ok()
}

/// Returns the major of a `server_version_num` (`180006` is 18).
pub fn major_of_version_num(version_num: &str) -> Option<u32> {
    version_num.trim().parse::<u32>().ok().map(|n| n / 10000)
}

/// Lists folders for a message: `15 (/usr/lib/postgresql/15/bin), 18 (target/pg/18/bin)` or `none`.
fn list(found: &[BinDir]) -> String {
    if found.is_empty() {
        return "none".to_string();
    }
    found.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_major_of_every_kind_of_version_line() {
        assert_eq!(parse_version_major("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"), Some(15));
        assert_eq!(parse_version_major("postgres (PostgreSQL) 18.6\n"), Some(18));
        assert_eq!(parse_version_major("psql (PostgreSQL) 19beta1\n"), Some(19));
        assert_eq!(parse_version_major("psql (PostgreSQL) 17rc1\n"), Some(17));
        assert_eq!(parse_version_major("nonsense"), None);
        assert_eq!(major_of_version_num("140023"), Some(14));
        assert_eq!(major_of_version_num("x"), None);
    }

    #[test]
    fn the_setting_names_a_supported_major() {
        assert_eq!(parse_requested("18").unwrap(), Some(18));
        assert_eq!(parse_requested(" 14.23 ").unwrap(), Some(14));
        assert_eq!(parse_requested("").unwrap(), None);
        for bad in ["13", "19", "latest"] {
            let message = parse_requested(bad).unwrap_err().to_string();
            assert_eq!(
                message,
                format!("SDM_PG_VERSION={bad}: the supported Postgres majors are 14, 15, 16, 17 and 18")
            );
        }
    }

    #[test]
    #[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
    fn a_cluster_keeps_the_major_that_made_it_and_refuses_another() {
        let root = crate::scratch_root().join(format!("sdm-pg-majors-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let first = crate::Cluster::start_major(&root, Some(14)).unwrap();
        let server_major = |cluster: &crate::Cluster| major_of(cluster.bin_dir(), "postgres");
        assert_eq!(server_major(&first), Some(14));
        drop(first);
        // Not asked for a major: the folder's own.
        let again = crate::Cluster::start_major(&root, None).unwrap();
        assert_eq!(server_major(&again), Some(14));
        drop(again);
        let message = crate::Cluster::start_major(&root, Some(18)).err().expect("refused").to_string();
        let data = root.canonicalize().unwrap().join("data");
        assert_eq!(
            message,
            format!(
                "the cluster in {} was made by Postgres 14, not 18: run with SDM_PG_VERSION=14, or remove the \
                 folder to start a new cluster (it holds nothing that must survive)",
                data.display()
            )
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    #[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
    fn client_tools_match_the_server_or_are_refused_naming_both_versions_and_the_fix() {
        let (fourteen, eighteen) = (crate::major_server(14), crate::major_server(18));
        let found = installed("pg_dump");
        // The oldest that is the server's major or newer: each server gets its own here.
        assert_eq!(choose_client(&found, "pg_dump", 14).unwrap().major, 14);
        assert_eq!(choose_client(&found, "pg_dump", 18).unwrap().major, 18);
        assert!(eighteen.bin("pg_dump").unwrap().starts_with(target_dir().join("pg/18")));
        let db = fourteen.scratch_database("majors_dump").unwrap();
        db.connect().batch_execute("CREATE TABLE note (body text NOT NULL)").unwrap();
        let schema = crate::Schema::dump(fourteen, db.name(), &[]).unwrap();
        assert!(schema.text().contains("body text NOT NULL"), "{schema}");

        // Only older tools: refused before anything runs, with both versions and the fix.
        let older: Vec<BinDir> = found.into_iter().filter(|d| d.major < 18).collect();
        assert!(!older.is_empty(), "the machine has a pg_dump older than 18");
        let message = choose_client(&older, "pg_dump", eighteen.major().unwrap()).unwrap_err().to_string();
        let listed = older.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        assert_eq!(
            message,
            format!(
                "pg_dump for a Postgres 18 server must be of Postgres 18 or newer; found: {listed}. Install Postgres \
                 18's tools with `python3 tools/pg-binaries.py 18` (or `apt-get install -y postgresql-client-18`), or \
                 set PG_BIN to a folder of Postgres 18 (or newer) binaries"
            )
        );
        assert_eq!(
            choose_client(&[], "psql", 18).unwrap_err().to_string().split(". ").next(),
            Some("psql for a Postgres 18 server must be of Postgres 18 or newer; found: none")
        );
    }
}
