//! Scratch databases: made for one test or one tool step, dropped with the value that holds them.
//!
//! Every scratch database is named `sdm_scratch_<pid>_<run>_<n>_<purpose>`: the process id lets a
//! later run drop what a killed process left behind ([`Server::drop_stale_databases`]), the run
//! key tells apart two processes that got one pid, and the purpose says what it was for.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use migrator::migrations::MigrationSet;

use crate::{Error, Result, Server};

/// Prefix of every scratch database's name.
pub const SCRATCH_PREFIX: &str = "sdm_scratch_";

/// A database that exists for one test (or one tool step) and is dropped with this value.
pub struct TestDatabase<'a> {
    server: &'a Server,
    url: String,
    name: String,
    /// Connections [`TestDatabase::client`] handed out and got back, for the next caller.
    idle: Mutex<Vec<postgres::Client>>,
}

impl<'a> TestDatabase<'a> {
    /// The guard of database `name` of `server`, which exists.
    fn new(server: &'a Server, name: String) -> TestDatabase<'a> {
        TestDatabase { server, url: server.url_for(&name), name, idle: Mutex::new(Vec::new()) }
    }
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

    /// Returns a connection that comes back to this database when dropped, its session reset
    /// (see [`Reused`]); one handed back earlier when there is one, else a new one. For a tool
    /// that reads one scratch database several times in turn: a new connection costs the server
    /// about 3 ms of CPU.
    pub fn client(&self) -> Result<Reused<'_>> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let client = match idle {
            Some(client) => client,
            None => self.try_connect()?,
        };
        Ok(Reused { idle: &self.idle, client: Some(client) })
    }
}

/// What a session may have changed that the next user of its connection must not inherit, as
/// `DISCARD ALL` resets it but for `DEALLOCATE ALL`: the driver keeps prepared statements of its
/// own (its type lookups) for the life of the connection.
const RESET_SESSION: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
                             SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES";

/// A connection from [`TestDatabase::client`]. Dropped, it goes back to its database once its
/// session is reset (settings, role, temporary tables, advisory locks, cursors); one that is
/// closed, inside a transaction block, or whose reset fails is closed instead.
pub struct Reused<'d> {
    idle: &'d Mutex<Vec<postgres::Client>>,
    client: Option<postgres::Client>,
}

impl Deref for Reused<'_> {
    type Target = postgres::Client;

    fn deref(&self) -> &postgres::Client {
        self.client.as_ref().expect("a connection until dropped")
    }
}

impl DerefMut for Reused<'_> {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        self.client.as_mut().expect("a connection until dropped")
    }
}

impl Drop for Reused<'_> {
    fn drop(&mut self) {
        let Some(mut client) = self.client.take() else { return };
        // Only a session outside a transaction block (where a statement starts its own transaction,
        // so the two times are one) is reset and kept; closing one in a block rolls it back.
        let outside_block = |client: &mut postgres::Client| match client
            .simple_query("SELECT statement_timestamp() = transaction_timestamp()")
        {
            Ok(messages) => {
                messages.iter().any(|m| matches!(m, postgres::SimpleQueryMessage::Row(row) if row.get(0) == Some("t")))
            }
            Err(_) => false,
        };
        let idle = !client.is_closed() && outside_block(&mut client) && client.batch_execute(RESET_SESSION).is_ok();
        if idle {
            self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(client);
        }
    }
}

impl Drop for TestDatabase<'_> {
    fn drop(&mut self) {
        // Close what was handed back first: the drop would otherwise end those sessions itself.
        self.idle.get_mut().unwrap_or_else(PoisonError::into_inner).clear();
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
        Ok(TestDatabase::new(self, name))
    }

    /// Creates an empty scratch database for a tool step, from `template0` (so nothing but what
    /// the step creates is in it, whatever `template1` holds); `purpose` ends its name.
    pub fn scratch_database(&self, purpose: &str) -> Result<TestDatabase<'_>> {
        let name = scratch_name(purpose);
        self.create_database(&name, Some("template0"))?;
        Ok(TestDatabase::new(self, name))
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
