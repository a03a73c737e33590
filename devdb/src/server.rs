//! A Postgres server to work on (`DATABASE_URL`'s, or the ephemeral cluster) and its databases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use migrator::db::connect;

use crate::cluster::{default_cluster_dir, Cluster};
use crate::ram::test_cluster_dir;
use crate::{majors, url, Error, Result};

/// The name of the main database on the ephemeral cluster.
pub const DEFAULT_DATABASE: &str = "sdm";

/// A Postgres server to work on: the one `DATABASE_URL` names, or the ephemeral local cluster.
pub struct Server {
    url: String,
    /// One administration connection, reused (declared before `cluster`: it closes first).
    admin: Mutex<Option<postgres::Client>>,
    /// Whether the server takes `CREATE DATABASE ... STRATEGY` (Postgres 15+), asked once.
    file_copy: OnceLock<bool>,
    /// The role the administration connection logs in as, asked once.
    role: OnceLock<String>,
    /// The server's major version, asked once.
    major: OnceLock<u32>,
    /// The folder chosen for each client tool, once found.
    client_dirs: Mutex<BTreeMap<String, PathBuf>>,
    cluster: Option<Cluster>,
}

impl Server {
    /// Returns `DATABASE_URL`'s server when it is set, else starts (or joins) the ephemeral cluster.
    pub fn from_env() -> Result<Server> {
        Server::external_from_env().map_or_else(Server::ephemeral, Ok)
    }

    /// Returns `DATABASE_URL`'s server when it is set (and not blank).
    fn external_from_env() -> Option<Server> {
        std::env::var("DATABASE_URL").ok().filter(|url| !url.trim().is_empty()).map(Server::external)
    }

    /// Returns a server for `url`; nothing is started.
    pub fn external(url: String) -> Server {
        Server::new(url, None)
    }

    /// Returns `DATABASE_URL`'s server when it is set, else starts (or joins) the tests'
    /// ephemeral cluster: in memory when the machine has room ([`test_cluster_dir`]).
    pub fn for_tests() -> Result<Server> {
        Server::external_from_env().map_or_else(Server::ephemeral_for_tests, Ok)
    }

    /// Starts (or joins) the tests' ephemeral cluster ([`test_cluster_dir`]).
    pub fn ephemeral_for_tests() -> Result<Server> {
        Server::ephemeral_at(&test_cluster_dir(majors::requested_major()?))
    }

    /// Starts (or joins) the tests' ephemeral cluster of Postgres `major` ([`test_cluster_dir`]).
    pub fn ephemeral_major_for_tests(major: u32) -> Result<Server> {
        Server::with_cluster(Cluster::start_major(&test_cluster_dir(Some(major)), Some(major))?)
    }

    /// Starts (or joins) the ephemeral cluster under the workspace's `target/` folder.
    pub fn ephemeral() -> Result<Server> {
        Server::ephemeral_at(&default_cluster_dir())
    }

    /// Starts (or joins) an ephemeral cluster in folder `root`.
    pub fn ephemeral_at(root: &Path) -> Result<Server> {
        Server::with_cluster(Cluster::start(root)?)
    }

    fn with_cluster(cluster: Cluster) -> Result<Server> {
        crate::ram::claim(cluster.root());
        let url = cluster.url_for(DEFAULT_DATABASE);
        let server = Server::new(url, Some(cluster));
        server.ensure_database(DEFAULT_DATABASE)?;
        Ok(server)
    }

    fn new(url: String, cluster: Option<Cluster>) -> Server {
        Server {
            url,
            admin: Mutex::new(None),
            file_copy: OnceLock::new(),
            role: OnceLock::new(),
            major: OnceLock::new(),
            client_dirs: Mutex::new(BTreeMap::new()),
            cluster,
        }
    }

    /// Whether this is the throwaway local cluster (safe to drop without asking).
    pub fn is_ephemeral(&self) -> bool {
        self.cluster.is_some()
    }

    /// Returns the URL of the main database (`DATABASE_URL`, or `sdm` on the ephemeral cluster).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the main database's name.
    pub fn database_name(&self) -> String {
        url::database_of(&self.url).unwrap_or_else(|| DEFAULT_DATABASE.to_string())
    }

    /// Returns the URL of database `db` on this server.
    pub fn url_for(&self, db: &str) -> String {
        url::with_database(&self.url, db)
    }

    /// Returns the path of a Postgres client tool (`pg_dump`, `pg_restore`, `psql`, ...) that works
    /// on this server: the cluster's own, else one of the server's major or newer found on the
    /// machine (see [`majors`]); refuses, naming both versions and the fix, when there is none.
    pub fn bin(&self, tool: &str) -> Result<PathBuf> {
        if let Some(path) = self.cluster.as_ref().map(|c| c.bin_dir().join(tool)).filter(|p| p.exists()) {
            return Ok(path);
        }
        let Ok(major) = self.major() else {
            // Unreachable: the newest tool reads any server, and says itself what it cannot reach.
            let newest = majors::installed(tool).pop();
            return Ok(newest.map_or_else(|| PathBuf::from(tool), |dir| dir.path.join(tool)));
        };
        let mut chosen = self.client_dirs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = chosen.get(tool) {
            return Ok(dir.join(tool));
        }
        let dir = majors::client_bin_dir(tool, major)?.path;
        chosen.insert(tool.to_string(), dir.clone());
        Ok(dir.join(tool))
    }

    /// Returns the server's major version (`SHOW server_version_num`), asked once.
    pub fn major(&self) -> Result<u32> {
        if let Some(known) = self.major.get() {
            return Ok(*known);
        }
        let version: String = self.with_admin(|admin| {
            let row =
                admin.query_one("SHOW server_version_num", &[]).map_err(Error::sql("ask the server's version"))?;
            Ok(row.get(0))
        })?;
        let major = majors::major_of_version_num(&version).unwrap_or(0);
        Ok(*self.major.get_or_init(|| major))
    }

    /// Opens a connection to the main database.
    pub fn connect(&self) -> Result<postgres::Client> {
        Ok(connect(&self.url)?)
    }

    /// Runs `f` on the administration connection (the maintenance database `postgres`), opened
    /// on first use and kept: each new connection costs a server process.
    pub(crate) fn with_admin<T>(&self, f: impl FnOnce(&mut postgres::Client) -> Result<T>) -> Result<T> {
        let mut guard = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = Some(connect(&self.url_for("postgres")).or_else(|_| connect(&self.url))?);
        }
        f(guard.as_mut().expect("connected above"))
    }

    /// Whether `CREATE DATABASE ... STRATEGY FILE_COPY` works here (Postgres 15+), asked once.
    pub(crate) fn has_file_copy(&self, admin: &mut postgres::Client) -> Result<bool> {
        if let Some(known) = self.file_copy.get() {
            return Ok(*known);
        }
        let row = admin.query_one("SHOW server_version_num", &[]).map_err(Error::sql("ask the server's version"))?;
        let version: String = row.get(0);
        Ok(*self.file_copy.get_or_init(|| version.parse::<u32>().unwrap_or(0) >= 150000))
    }

    /// Returns the role the administration connection `admin` logs in as, asked once.
    pub(crate) fn role(&self, admin: &mut postgres::Client) -> Result<&str> {
        if let Some(known) = self.role.get() {
            return Ok(known);
        }
        let row = admin.query_one("SELECT current_user::text", &[]).map_err(Error::sql("ask the server's role"))?;
        Ok(self.role.get_or_init(|| row.get(0)))
    }

    /// Creates database `name`, optionally as a copy of `template`.
    pub fn create_database(&self, name: &str, template: Option<&str>) -> Result<()> {
        self.with_admin(|admin| {
            // FILE_COPY (Postgres 15+) copies the files instead of WAL-logging every block: half
            // the CPU time for a database the size of template0 (8.7 ms against 16.7 ms, create
            // and drop, measured on an idle cluster in memory).
            let strategy = if self.has_file_copy(admin)? { " STRATEGY FILE_COPY" } else { "" };
            let sql = match template {
                Some(t) => format!("CREATE DATABASE {} TEMPLATE {}{strategy}", ident(name), ident(t)),
                None => format!("CREATE DATABASE {}{strategy}", ident(name)),
            };
            admin.batch_execute(&sql).map_err(Error::sql(format!("create database {name}")))
        })
    }

    /// Creates database `name` unless it exists.
    pub fn ensure_database(&self, name: &str) -> Result<()> {
        self.with_admin(|admin| {
            let what = format!("create database {name}");
            let found = admin
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
                .map_err(Error::sql(what.clone()))?;
            if found.is_none() {
                admin.batch_execute(&format!("CREATE DATABASE {}", ident(name))).map_err(Error::sql(what))?;
            }
            Ok(())
        })
    }

    /// Drops database `name` if it exists, closing its connections first.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        self.with_admin(|admin| drop_with(admin, name))
    }

    /// Stops the ephemeral cluster now if no other process is using it (also done on drop).
    pub fn stop(&mut self) -> Result<()> {
        match self.cluster.take() {
            Some(mut cluster) => cluster.stop(),
            None => Ok(()),
        }
    }
}

/// Drops database `name` if it exists, on the administration connection `admin`.
///
/// A role that is not a superuser may not end an autovacuum worker, which works as no role, so
/// its `WITH (FORCE)` fails while one is in the database (seen for a role dropping its own
/// database right after filling it): it is tried again, for up to 5 s, while nothing else stands
/// in the way (the worker may be gone by the time the failure is looked into).
pub(crate) fn drop_with(admin: &mut postgres::Client, name: &str) -> Result<()> {
    // One statement per call: DROP DATABASE refuses to run inside a multi-statement batch.
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(name));
    let mut tries = 0;
    loop {
        tries += 1;
        let error = match admin.batch_execute(&sql) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let privilege = error.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE);
        if tries < 50 && privilege && only_autovacuum_stands_in_the_way(admin, name) {
            std::thread::sleep(std::time::Duration::from_millis(100));
            continue;
        }
        return Err(Error::sql(format!("drop database {name}"))(error));
    }
}

/// Whether a failed drop of database `name` was refused for an autovacuum worker in it, one
/// there still or gone since: the role may drop the database, and may end every other session in
/// it. Postgres lets only superusers (and, from 18, `pg_signal_autovacuum_worker`) end a worker,
/// which leaves a table it is working on within moments.
fn only_autovacuum_stands_in_the_way(admin: &mut postgres::Client, name: &str) -> bool {
    let sql = "SELECT pg_catalog.pg_has_role(d.datdba, 'MEMBER') AND NOT EXISTS (
                 SELECT FROM pg_catalog.pg_stat_activity a
                  WHERE a.datid = d.oid AND a.pid <> pg_catalog.pg_backend_pid()
                    AND a.backend_type IS DISTINCT FROM 'autovacuum worker'
                    AND NOT coalesce(pg_catalog.pg_has_role(a.usesysid, 'MEMBER'), false))
                 FROM pg_catalog.pg_database d WHERE d.datname = $1";
    admin.query_opt(sql, &[&name]).ok().flatten().is_some_and(|row| row.get(0))
}

/// Quotes an SQL identifier.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
