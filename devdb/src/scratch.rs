//! Scratch databases: made for one test or one tool step, dropped with the value that holds them.
//!
//! Every scratch database is named `sdm_scratch_<pid>_<run>_<n>_<purpose>`: the process id lets a
//! later run drop what a killed process left behind ([`Server::drop_stale_databases`]), the run
//! key tells apart two processes that got one pid, and the purpose says what it was for.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use migrator::migrations::MigrationSet;

use crate::{Error, Result, Server};

/// Prefix of every scratch database's name.
pub const SCRATCH_PREFIX: &str = "sdm_scratch_";

/// A database that exists for one test (or one tool step) and is dropped with this value.
pub struct TestDatabase<'a> {
    server: &'a Server,
    url: String,
    name: String,
}

impl TestDatabase<'_> {
    /// Returns the URL to connect to this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Opens a connection.
    pub fn try_connect(&self) -> Result<postgres::Client> {
        Ok(migrator::db::connect(&self.url)?)
    }

    /// Opens a connection; panics with the reason, as tests want.
    pub fn connect(&self) -> postgres::Client {
        self.try_connect().unwrap_or_else(|e| panic!("connect to test database {}: {e}", self.name))
    }
}

impl Drop for TestDatabase<'_> {
    fn drop(&mut self) {
        // After Ctrl-C the cluster is stopping; the next run drops what is left.
        if crate::interrupted() {
            return;
        }
        if let Err(e) = self.server.drop_database(&self.name) {
            eprintln!("warning: could not drop database {}: {}", self.name, migrator::db::with_sources(&e));
        }
    }
}

impl Server {
    /// Creates a fresh database for one test, migrated with `set` (a clone of its template), or
    /// empty with `None`.
    pub fn test_database(&self, set: Option<&MigrationSet>) -> Result<TestDatabase<'_>> {
        let name = scratch_name("test");
        match set {
            Some(set) => self.with_admin(|admin| self.clone_template(admin, set, &name))?,
            None => self.create_database(&name, None)?,
        }
        Ok(TestDatabase { server: self, url: self.url_for(&name), name })
    }

    /// Creates an empty scratch database for a tool step, from `template0` (so nothing but what
    /// the step creates is in it, whatever `template1` holds); `purpose` ends its name.
    pub fn scratch_database(&self, purpose: &str) -> Result<TestDatabase<'_>> {
        let name = scratch_name(purpose);
        self.create_database(&name, Some("template0"))?;
        Ok(TestDatabase { server: self, url: self.url_for(&name), name })
    }

    /// Drops the scratch databases of processes that are gone (killed before they could) and
    /// returns their names. Only on the ephemeral cluster: on a real server another machine's
    /// process may own them.
    pub fn drop_stale_databases(&self) -> Result<Vec<String>> {
        if !self.is_ephemeral() {
            return Ok(Vec::new());
        }
        self.with_admin(|admin| {
            let pattern = format!("{}%", SCRATCH_PREFIX.replace('_', "\\_"));
            let rows = admin
                .query("SELECT datname::text FROM pg_database WHERE datname LIKE $1", &[&pattern])
                .map_err(Error::sql("list scratch databases"))?;
            let mut dropped = Vec::new();
            for row in rows {
                let name: String = row.get(0);
                if is_stale(&name) {
                    crate::server::drop_with(admin, &name)?;
                    dropped.push(name);
                }
            }
            Ok(dropped)
        })
    }
}

/// Returns a new scratch database name, unique on this machine: pid, run key, counter, purpose.
fn scratch_name(purpose: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{SCRATCH_PREFIX}{}_{}_{n}_{purpose}", std::process::id(), run_key())
}

/// Returns this process's run key: what tells it apart from an earlier process with its pid.
fn run_key() -> u32 {
    static RUN: OnceLock<u32> = OnceLock::new();
    *RUN.get_or_init(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        now.subsec_nanos() % 100_000
    })
}

/// Whether process `pid` exists on this machine.
pub(crate) fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether scratch database `name` belongs to a process that is gone.
fn is_stale(name: &str) -> bool {
    let mut parts = name[SCRATCH_PREFIX.len()..].split('_').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(pid), Some(run)) if pid == std::process::id() => run != run_key(),
        (Some(pid), Some(_)) => !process_exists(pid),
        _ => false,
    }
}
