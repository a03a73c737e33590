//! The Python side of `cargo xtask langgraph`: the venv with the pinned library, and what
//! `python/langgraph_migrations.py` reads from it (its set-up steps and the schema they make).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use anyhow::{bail, Context};
use devdb::Server;
use serde::Deserialize;
use xshell::{cmd, Shell};

use super::worker;

/// The distribution whose set-up steps the migrations follow.
pub const PACKAGE: &str = "langgraph-checkpoint-postgres";

/// The installed library, as `langgraph_migrations.py describe` reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Library {
    /// Every installed distribution's version, by normalised name.
    pub versions: BTreeMap<String, String>,
    /// `PostgresSaver.MIGRATIONS`: step `v` is item `v`.
    pub checkpointer: Vec<String>,
    /// `PostgresStore.MIGRATIONS`.
    pub store: Vec<String>,
    /// `PostgresStore.VECTOR_MIGRATIONS`, which `setup()` runs only with an index config.
    pub vector: Vec<VectorStep>,
    /// What both `setup()`s create on an empty database, as pg_dump prints it.
    pub reference: String,
}

/// One of the store's vector steps (the script also prints its SQL, not needed here).
#[derive(Debug, Clone, Deserialize)]
pub struct VectorStep {
    /// The index-config values its SQL is filled in with.
    pub params: Vec<String>,
}

/// The steps each set-up table records, as `langgraph_migrations.py setup` prints them.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct Recorded {
    /// `checkpoint_migrations`.
    pub checkpoint_migrations: Vec<i32>,
    /// `store_migrations`.
    pub store_migrations: Vec<i32>,
}

/// An interpreter with the LangGraph library installed.
#[derive(Debug, Clone)]
pub struct Python {
    /// The interpreter.
    pub exe: PathBuf,
    /// The requirements it should match (`name==version` lines).
    pub requirements: PathBuf,
}

impl Python {
    /// Builds (once per requirements hash) the venv `venv` from `requirements` with
    /// `python/setup-venv.py`, and returns its interpreter. A process asks the script once per
    /// venv and requirements text: verify and the tests ask for the same venv again and again.
    pub fn venv(sh: &Shell, requirements: &Path, venv: &Path) -> anyhow::Result<Python> {
        static READY: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
        let pins = std::fs::read_to_string(requirements).with_context(|| format!("read {}", requirements.display()))?;
        let key = (venv.to_path_buf(), pins);
        if !READY.lock().unwrap_or_else(PoisonError::into_inner).contains(&key) {
            let (script, python3) = (crate::project_root().join("python/setup-venv.py"), crate::python3());
            cmd!(sh, "{python3} {script} --requirements {requirements} --venv {venv}")
                .run()
                .with_context(|| format!("build the venv {} from {}", venv.display(), requirements.display()))?;
            READY.lock().unwrap_or_else(PoisonError::into_inner).push(key);
        }
        Ok(Python { exe: venv.join("bin/python"), requirements: requirements.to_path_buf() })
    }

    /// Returns `SDM_PYTHON` when set, else the venv `.venv` of `root`, built or refreshed from
    /// `python/requirements.txt` first.
    pub fn workspace(sh: &Shell, root: &Path) -> anyhow::Result<Python> {
        let requirements = root.join("python/requirements.txt");
        match std::env::var_os("SDM_PYTHON") {
            Some(exe) => Ok(Python { exe: PathBuf::from(exe), requirements }),
            None => Python::venv(sh, &requirements, &root.join(".venv")),
        }
    }

    /// Reads the library's steps, and the schema its `setup()`s make on a scratch database of
    /// `server`; fails when the installed versions are not those `requirements` pins.
    ///
    /// What one venv holds does not change while a process runs, so its description is read once
    /// per process (per interpreter and requirements stamp): tests compare a tree several times.
    pub fn describe(&self, server: &Server) -> anyhow::Result<Library> {
        static READ: Mutex<BTreeMap<(PathBuf, String), Library>> = Mutex::new(BTreeMap::new());
        let key = (self.exe.clone(), self.stamp());
        let known = READ.lock().unwrap_or_else(PoisonError::into_inner).get(&key).cloned();
        let library = match known {
            Some(library) => library,
            None => {
                let db = server.scratch_database("langgraph_reference")?;
                let library: Library = self.script(server, "describe", db.url())?;
                READ.lock().unwrap_or_else(PoisonError::into_inner).insert(key, library.clone());
                library
            }
        };
        self.check_pins(&library.versions)?;
        Ok(library)
    }

    /// Runs both `setup()`s on `url` and returns the steps each table then records.
    pub fn setup(&self, server: &Server, url: &str) -> anyhow::Result<Recorded> {
        self.script(server, "setup", url)
    }

    /// Runs `langgraph_migrations.py COMMAND URL` in this interpreter's worker and parses the
    /// JSON it answers.
    fn script<T: serde::de::DeserializeOwned>(&self, server: &Server, command: &str, url: &str) -> anyhow::Result<T> {
        let exe = &self.exe;
        anyhow::ensure!(
            exe.exists(),
            "{} does not exist: run `python3 python/setup-venv.py` (or set SDM_PYTHON to an interpreter \
             with python/requirements.txt installed)",
            exe.display()
        );
        // The password goes in the worker's environment for this request (libpq reads
        // PGPASSWORD), through its stdin: a command line is visible to every user of the machine.
        let (conninfo, password) = migrator::conninfo::without_password(url);
        let mut env = vec![("PG_DUMP", server.bin("pg_dump")?.to_string_lossy().into_owned())];
        env.extend(password.map(|password| ("PGPASSWORD", password)));
        let request = worker::Request { command, url: &conninfo, env };
        match worker::request(exe, self.stamp(), &request)? {
            Ok(result) => serde_json::from_value(result)
                .with_context(|| format!("read what {} {command} answered", worker::SCRIPT)),
            Err(message) => {
                bail!("{} {command} failed: {}", worker::SCRIPT, message.replace(url, &migrator::db::redact(url)))
            }
        }
    }

    /// The requirements stamp `python/setup-venv.py` leaves in the venv (empty for an interpreter
    /// of another kind): what the venv holds changes only with it.
    pub(super) fn stamp(&self) -> String {
        let stamp = self.exe.parent().and_then(Path::parent).map(|venv| venv.join(".requirements.sha256"));
        stamp.and_then(|s| std::fs::read_to_string(s).ok()).unwrap_or_default()
    }

    /// Fails when a `name==version` pin of the requirements is not what is installed.
    fn check_pins(&self, installed: &BTreeMap<String, String>) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(&self.requirements)
            .with_context(|| format!("read {}", self.requirements.display()))?;
        let wrong: Vec<String> = pins(&text)
            .into_iter()
            .filter_map(|(name, pinned)| {
                let found = installed.get(&name).map_or("not installed", String::as_str);
                (found != pinned).then(|| format!("{name} {found} (pinned {pinned})"))
            })
            .collect();
        if !wrong.is_empty() {
            bail!(
                "{} does not have the pins of {}: {}; run `python3 python/setup-venv.py` (or point SDM_PYTHON \
                 at an interpreter with those pins)",
                self.exe.display(),
                self.requirements.display(),
                wrong.join(", ")
            );
        }
        Ok(())
    }
}

impl Library {
    /// Returns the version of the library the steps come from.
    pub fn version(&self) -> &str {
        self.versions.get(PACKAGE).map_or("(unknown version)", String::as_str)
    }
}

/// Returns the `name==version` pins of a requirements file, names normalised as PyPI does.
pub(super) fn pins(requirements: &str) -> Vec<(String, String)> {
    requirements
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter_map(|line| line.split_once("=="))
        .map(|(name, version)| {
            let name = name.split('[').next().unwrap_or(name).trim();
            let normal: String = name
                .split(['-', '_', '.'])
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("-")
                .to_lowercase();
            (normal, version.split(';').next().unwrap_or(version).trim().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn pins_are_read_with_names_normalised() {
        let text = "# comment\nlanggraph==1.2.24\nLangGraph_Checkpoint.Postgres == 3.2.0  # the one\n\
                    psycopg[binary]==3.3.9 ; python_version >= '3.10'\nrequests>=2\n";
        assert_eq!(
            super::pins(text),
            [
                ("langgraph".to_string(), "1.2.24".to_string()),
                ("langgraph-checkpoint-postgres".to_string(), "3.2.0".to_string()),
                ("psycopg".to_string(), "3.3.9".to_string()),
            ]
        );
    }
}
