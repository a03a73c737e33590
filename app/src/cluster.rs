//! A real Postgres for tools and tests: `DATABASE_URL`'s server, or an ephemeral local cluster.
//!
//! The ephemeral cluster lives under `target/sdm-pg/` (initdb runs once; later runs reuse the
//! folder). It listens on a Unix socket only, trusts local connections, runs with fsync off, and
//! is started on demand and stopped when the last process using it ends: each user holds a shared
//! `flock` on `users.lock`; whoever can take it exclusively on the way out stops the server. Exit,
//! error, panic and Ctrl-C all stop it (an `atexit` hook and a signal handler back up `Drop`).
//!
//! Per-test databases are `CREATE DATABASE ... TEMPLATE` clones of a template that is migrated
//! once per set of migrations and named by a hash of the files.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::db::{connect, redact};
use crate::migrations::MigrationSet;
use crate::{Error, Result};

/// The name of the main database on the ephemeral cluster.
pub const DEFAULT_DATABASE: &str = "sdm";
const TEST_PREFIX: &str = "sdm_test_";
const TEMPLATE_PREFIX: &str = "sdm_tpl_";

/// A Postgres server to work on: the one `DATABASE_URL` names, or the ephemeral local cluster.
pub struct Server {
    url: String,
    bin_dir: Option<PathBuf>,
    /// One administration connection, reused (declared before `cluster`: it closes first).
    admin: Mutex<Option<postgres::Client>>,
    /// Whether the server takes `CREATE DATABASE ... STRATEGY` (Postgres 15+), asked once.
    file_copy: OnceLock<bool>,
    cluster: Option<Cluster>,
}

impl Server {
    /// Returns `DATABASE_URL`'s server when it is set, else starts (or joins) the ephemeral cluster.
    pub fn from_env() -> Result<Server> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(Server::external(url)),
            _ => Server::ephemeral(),
        }
    }

    /// Returns a server for `url`; nothing is started.
    pub fn external(url: String) -> Server {
        Server { url, bin_dir: find_bin_dir().ok(), admin: Mutex::new(None), file_copy: OnceLock::new(), cluster: None }
    }

    /// Starts (or joins) the ephemeral cluster under the workspace's `target/` folder.
    pub fn ephemeral() -> Result<Server> {
        Server::ephemeral_at(&default_cluster_dir())
    }

    /// Starts (or joins) an ephemeral cluster in folder `root`.
    pub fn ephemeral_at(root: &Path) -> Result<Server> {
        let cluster = Cluster::start(root)?;
        let url = cluster.url_for(DEFAULT_DATABASE);
        let bin_dir = Some(cluster.bin_dir.clone());
        let server =
            Server { url, bin_dir, admin: Mutex::new(None), file_copy: OnceLock::new(), cluster: Some(cluster) };
        server.ensure_database(DEFAULT_DATABASE)?;
        Ok(server)
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
        database_of(&self.url).unwrap_or_else(|| DEFAULT_DATABASE.to_string())
    }

    /// Returns the URL of database `db` on this server.
    pub fn url_for(&self, db: &str) -> String {
        with_database(&self.url, db)
    }

    /// Returns the path of a Postgres client tool (`pg_dump`, `psql`, ...) matching the server.
    pub fn bin(&self, tool: &str) -> PathBuf {
        match &self.bin_dir {
            Some(dir) if dir.join(tool).exists() => dir.join(tool),
            _ => PathBuf::from(tool),
        }
    }

    /// Opens a connection to the main database.
    pub fn connect(&self) -> Result<postgres::Client> {
        connect(&self.url)
    }

    /// Runs `f` on the administration connection (the maintenance database `postgres`), opened
    /// on first use and kept: each new connection costs a server process.
    fn with_admin<T>(&self, f: impl FnOnce(&mut postgres::Client) -> Result<T>) -> Result<T> {
        let mut guard = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = Some(connect(&self.url_for("postgres")).or_else(|_| connect(&self.url))?);
        }
        f(guard.as_mut().expect("connected above"))
    }

    /// Creates database `name`, optionally as a copy of `template`.
    pub fn create_database(&self, name: &str, template: Option<&str>) -> Result<()> {
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {} TEMPLATE {}", ident(name), ident(t)),
            None => format!("CREATE DATABASE {}", ident(name)),
        };
        self.with_admin(|admin| Ok(admin.batch_execute(&sql)?))
    }

    /// Creates database `name` unless it exists.
    pub fn ensure_database(&self, name: &str) -> Result<()> {
        self.with_admin(|admin| {
            if admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])?.is_none() {
                admin.batch_execute(&format!("CREATE DATABASE {}", ident(name)))?;
            }
            Ok(())
        })
    }

    /// Drops database `name` if it exists, closing its connections first.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        self.with_admin(|admin| {
            Ok(admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(name)))?)
        })
    }

    /// Returns the name of a template database migrated with `set`, building it on first use.
    pub fn template_for(&self, set: &MigrationSet) -> Result<String> {
        self.with_admin(|admin| self.template_with(admin, set))
    }

    fn template_with(&self, admin: &mut postgres::Client, set: &MigrationSet) -> Result<String> {
        let name = format!("{TEMPLATE_PREFIX}{}", &set.content_hash()[..16]);
        let ready = "SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate";
        if admin.query_opt(ready, &[&name])?.is_some() {
            return Ok(name);
        }
        // One builder per server; others wait here and then find it built.
        admin.execute("SELECT pg_advisory_lock(7262841903)", &[])?;
        let result = self.build_template(admin, &name, set);
        admin.execute("SELECT pg_advisory_unlock(7262841903)", &[])?;
        result.map(|()| name)
    }

    fn build_template(&self, admin: &mut postgres::Client, name: &str, set: &MigrationSet) -> Result<()> {
        let ready =
            admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate", &[&name])?.is_some();
        if ready {
            return Ok(());
        }
        if self.is_ephemeral() {
            // Templates of older migration sets are dead weight on a throwaway cluster.
            let stale = admin.query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'sdm\\_tpl\\_%' AND datname <> $1",
                &[&name],
            )?;
            for row in stale {
                let old: String = row.get(0);
                // Separate statements: DROP DATABASE refuses to run inside a multi-statement batch.
                admin.batch_execute(&format!("ALTER DATABASE {} IS_TEMPLATE false", ident(&old)))?;
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(&old)))?;
            }
        }
        let building = format!("{name}_building");
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(&building)))?;
        admin.batch_execute(&format!("CREATE DATABASE {}", ident(&building)))?;
        {
            let mut client = connect(&self.url_for(&building))?;
            crate::migrate::migrate(&mut client, set)?;
            // A chain of ALTERs leaves dead catalog rows; every clone would copy them.
            client.batch_execute("VACUUM FULL")?;
        }
        admin.batch_execute(&format!(
            "ALTER DATABASE {b} RENAME TO {n}; ALTER DATABASE {n} IS_TEMPLATE true; ALTER DATABASE {n} ALLOW_CONNECTIONS false",
            b = ident(&building),
            n = ident(name)
        ))?;
        Ok(())
    }

    /// Creates a fresh database for one test, migrated with `set` (or empty with `None`).
    pub fn test_database(&self, set: Option<&MigrationSet>) -> Result<TestDatabase<'_>> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{TEST_PREFIX}{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
                % 100_000
        );
        self.with_admin(|admin| {
            let sql = match set {
                Some(set) => {
                    let template = self.template_with(admin, set)?;
                    // FILE_COPY (Postgres 15+) copies the files instead of WAL-logging every
                    // block: with fsync off that is the faster way to clone a template.
                    let file_copy = match self.file_copy.get() {
                        Some(known) => *known,
                        None => {
                            let version: String = admin.query_one("SHOW server_version_num", &[])?.get(0);
                            *self.file_copy.get_or_init(|| version.parse::<u32>().unwrap_or(0) >= 150000)
                        }
                    };
                    let strategy = if file_copy { " STRATEGY FILE_COPY" } else { "" };
                    format!("CREATE DATABASE {} TEMPLATE {}{strategy}", ident(&name), ident(&template))
                }
                None => format!("CREATE DATABASE {}", ident(&name)),
            };
            Ok(admin.batch_execute(&sql)?)
        })?;
        Ok(TestDatabase { server: self, url: self.url_for(&name), name })
    }

    /// Stops the ephemeral cluster now if no other process is using it (also done on drop).
    pub fn stop(&mut self) -> Result<()> {
        match self.cluster.take() {
            Some(mut cluster) => cluster.release(),
            None => Ok(()),
        }
    }
}

/// A database that exists for one test (or one scratch job) and is dropped with it.
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

    /// Opens a connection; panics with the reason, as tests want.
    pub fn connect(&self) -> postgres::Client {
        connect(&self.url).unwrap_or_else(|e| panic!("connect to test database {}: {e}", self.name))
    }
}

impl Drop for TestDatabase<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.server.drop_database(&self.name) {
            eprintln!("warning: could not drop database {}: {e}", self.name);
        }
    }
}

/// The server shared by every test in this process, stopped when the process exits.
pub fn test_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::from_env().unwrap_or_else(|e| panic!("test database server: {e}")))
}

/// Returns a fresh database migrated with the embedded migrations, cloned from a template.
pub fn test_database() -> TestDatabase<'static> {
    static SET: OnceLock<MigrationSet> = OnceLock::new();
    let set = SET.get_or_init(|| MigrationSet::embedded().unwrap_or_else(|e| panic!("embedded migrations: {e}")));
    test_server().test_database(Some(set)).unwrap_or_else(|e| panic!("test database: {e}"))
}

/// Returns a fresh, empty database (no migrations applied).
pub fn empty_database() -> TestDatabase<'static> {
    test_server().test_database(None).unwrap_or_else(|e| panic!("test database: {e}"))
}

/// An initialised data folder and, while this value lives, a running server using it.
pub struct Cluster {
    root: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
}

impl Cluster {
    /// Initialises `root` once, starts the server unless it is running, and registers as a user.
    pub fn start(root: &Path) -> Result<Cluster> {
        install_exit_hooks();
        // A Ctrl-C during start waits for this guard, then stops what we started.
        let _starting = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let bin_dir = find_bin_dir()?;
        let root = usable_root(root)?;
        let socket_dir = socket_dir_for(&root);
        let control = lock_file(&root.join("control.lock"))?;
        control.lock().map_err(|e| io_err(&root.join("control.lock"), e))?;
        let data = root.join("data");
        if !data.join("PG_VERSION").exists() {
            initdb(&bin_dir, &data)?;
        }
        fs::create_dir_all(&socket_dir).map_err(|e| io_err(&socket_dir, e))?;
        chown_to_postgres(&socket_dir)?;
        if !is_running(&bin_dir, &data) {
            start_server(&bin_dir, &root, &data, &socket_dir)?;
        }
        let users = lock_file(&root.join("users.lock"))?;
        users.lock_shared().map_err(|e| io_err(&root.join("users.lock"), e))?;
        register_for_exit(Registration { root: root.clone(), bin_dir: bin_dir.clone(), users });
        Ok(Cluster { root, socket_dir, bin_dir })
    }

    /// Returns a URL for database `db` over the cluster's Unix socket.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgresql://postgres@{}/{}", percent_encode(&self.socket_dir.to_string_lossy()), db)
    }

    /// Returns the cluster's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Unregisters this process; stops the server when no other process uses it.
    fn release(&mut self) -> Result<()> {
        match take_registration(&self.root) {
            Some(registration) => registration.release(),
            None => Ok(()),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            eprintln!("warning: {e}");
        }
    }
}

/// This process's use of a cluster: the shared lock on `users.lock` that keeps it running.
struct Registration {
    root: PathBuf,
    bin_dir: PathBuf,
    users: File,
}

impl Registration {
    /// Drops our shared lock; if no other process holds one, stops the server.
    fn release(self) -> Result<()> {
        let control = lock_file(&self.root.join("control.lock"))?;
        control.lock().map_err(|e| io_err(&self.root.join("control.lock"), e))?;
        drop(self.users);
        let users = lock_file(&self.root.join("users.lock"))?;
        if users.try_lock().is_ok() {
            stop_server(&self.bin_dir, &self.root.join("data"))?;
        }
        Ok(())
    }
}

/// Clusters this process uses, released by `Drop`, or by the exit and signal hooks for the
/// ones held in statics (the test server), which are never dropped.
static ACTIVE: Mutex<Vec<Registration>> = Mutex::new(Vec::new());

/// Held while a cluster starts, so that the signal handler never exits half-way through.
static STARTING: Mutex<()> = Mutex::new(());

/// Set once Ctrl-C or SIGTERM arrived; the handler thread then owns the process's exit.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn install_exit_hooks() {
    static HOOKS: OnceLock<()> = OnceLock::new();
    HOOKS.get_or_init(|| {
        extern "C" fn at_exit() {
            if INTERRUPTED.load(Ordering::SeqCst) {
                // The signal handler is stopping the cluster and will end the process itself.
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            release_all();
        }
        // SAFETY: registering a plain `extern "C" fn` with no captured state.
        unsafe { libc::atexit(at_exit) };
        // Ctrl-C and SIGTERM: the handler runs on its own thread, so it may wait for a start.
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, Ordering::SeqCst);
            drop(STARTING.lock().unwrap_or_else(|e| e.into_inner()));
            release_all();
            eprintln!("interrupted");
            // SAFETY: _exit ends the process at once; the main thread may be inside exit().
            unsafe { libc::_exit(130) };
        });
    });
}

fn register_for_exit(registration: Registration) {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).push(registration);
}

fn take_registration(root: &Path) -> Option<Registration> {
    let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let index = active.iter().position(|r| r.root == root)?;
    Some(active.remove(index))
}

fn release_all() {
    let active = std::mem::take(&mut *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for registration in active {
        if let Err(e) = registration.release() {
            eprintln!("warning: {e}");
        }
    }
}

/// Returns the workspace's default cluster folder: `$SDM_PG_DIR`, else `<target>/sdm-pg`.
pub fn default_cluster_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SDM_PG_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    target.join("sdm-pg")
}

/// Finds the Postgres server binaries: `$PG_BIN`, `pg_config --bindir`, `/usr/lib/postgresql/*/bin`.
pub fn find_bin_dir() -> Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").exists() && dir.join("postgres").exists();
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_server(&dir) {
            Ok(dir)
        } else {
            Err(Error::Cluster(format!("PG_BIN={} has no initdb and postgres", dir.display())))
        };
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
    candidates.pop().map(|(_, dir)| dir).ok_or_else(|| {
        Error::Cluster(
            "no Postgres server binaries found: install them (`apt-get install -y postgresql`) or set PG_BIN".into(),
        )
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a server binary, as the `postgres` user when we are root (initdb and postgres refuse root).
fn pg_command(bin_dir: &Path, tool: &str) -> Command {
    let path = bin_dir.join(tool);
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(path);
        cmd
    } else {
        Command::new(path)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd.output().map_err(|e| Error::Cluster(format!("{what}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Cluster(format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        String::from_utf8_lossy(&out.stdout).trim()
    )))
}

/// Returns `preferred` if the `postgres` user can work in it, else a folder under the temp dir.
fn usable_root(preferred: &Path) -> Result<PathBuf> {
    fs::create_dir_all(preferred).map_err(|e| io_err(preferred, e))?;
    let preferred = preferred.canonicalize().map_err(|e| io_err(preferred, e))?;
    if !is_root() {
        return Ok(preferred);
    }
    chown_to_postgres(&preferred)?;
    let ok = Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-w"])
        .arg(&preferred)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Ok(preferred);
    }
    // A parent folder is closed to the postgres user (e.g. under /root): fall back to /tmp.
    let fallback = std::env::temp_dir().join(format!("sdm-pg-{:016x}", fnv(preferred.to_string_lossy().as_bytes())));
    fs::create_dir_all(&fallback).map_err(|e| io_err(&fallback, e))?;
    chown_to_postgres(&fallback)?;
    Ok(fallback)
}

fn socket_dir_for(root: &Path) -> PathBuf {
    let dir = root.join("socket");
    // Unix socket paths are limited to 107 bytes, including "/.s.PGSQL.5432".
    if dir.as_os_str().len() + 16 < 100 {
        dir
    } else {
        std::env::temp_dir().join(format!("sdm-pg-sock-{:016x}", fnv(root.to_string_lossy().as_bytes())))
    }
}

fn chown_to_postgres(path: &Path) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    let mut cmd = Command::new("chown");
    cmd.arg("postgres:postgres").arg(path);
    run(cmd, &format!("chown postgres {}", path.display()))
}

fn initdb(bin_dir: &Path, data: &Path) -> Result<()> {
    let started = Instant::now();
    let _ = fs::remove_dir_all(data);
    let mut cmd = pg_command(bin_dir, "initdb");
    cmd.arg("-D").arg(data).args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
    run(cmd, &format!("initdb {}", data.display()))?;
    // Throwaway work: durability off, no TCP, enough connections for parallel tests.
    let conf = "\n# sdm ephemeral cluster\nlisten_addresses = ''\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\nshared_buffers = 128MB\nmax_wal_size = 1GB\ncheckpoint_timeout = 30min\nlog_min_messages = warning\n";
    let conf_path = data.join("postgresql.conf");
    let mut text = fs::read_to_string(&conf_path).map_err(|e| io_err(&conf_path, e))?;
    text.push_str(conf);
    fs::write(&conf_path, text).map_err(|e| io_err(&conf_path, e))?;
    eprintln!("initialised local postgres in {} ({:.1}s)", data.display(), started.elapsed().as_secs_f64());
    Ok(())
}

fn is_running(bin_dir: &Path, data: &Path) -> bool {
    let mut cmd = pg_command(bin_dir, "pg_ctl");
    cmd.arg("-D").arg(data).arg("status");
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

fn start_server(bin_dir: &Path, root: &Path, data: &Path, socket_dir: &Path) -> Result<()> {
    let log = root.join("server.log");
    if !log.exists() {
        File::create(&log).map_err(|e| io_err(&log, e))?;
    }
    chown_to_postgres(&log)?;
    let mut cmd = pg_command(bin_dir, "pg_ctl");
    cmd.arg("-D")
        .arg(data)
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", "60", "-o"])
        .arg(format!("-k {}", socket_dir.display()))
        .arg("start");
    // Our own process group for the server, so the terminal's Ctrl-C reaches us, not it; we stop it.
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    run(cmd, &format!("start postgres (log: {})", log.display()))
}

fn stop_server(bin_dir: &Path, data: &Path) -> Result<()> {
    let mut cmd = pg_command(bin_dir, "pg_ctl");
    cmd.arg("-D").arg(data).args(["-m", "fast", "-w", "-t", "60", "stop"]);
    run(cmd, "stop postgres")
}

fn lock_file(path: &Path) -> Result<File> {
    OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(|e| io_err(path, e))
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io { path: path.to_path_buf(), source }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Quotes an SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Returns the database named in a URL or key=value connection string.
pub fn database_of(url: &str) -> Option<String> {
    let config: postgres::Config = url.parse().ok()?;
    config.get_dbname().map(str::to_string).or_else(|| config.get_user().map(str::to_string))
}

/// Returns `url` pointing at database `db` instead (URL or key=value form).
pub fn with_database(url: &str, db: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let query = tail.find('?').map(|i| &tail[i..]).unwrap_or("");
        return format!("{}{}/{}{}", &url[..scheme_end + 3], authority, db, query);
    }
    let mut parts: Vec<String> =
        url.split_whitespace().filter(|kv| !kv.starts_with("dbname=")).map(str::to_string).collect();
    parts.push(format!("dbname={db}"));
    parts.join(" ")
}

/// Waits until `url` accepts connections or `timeout` passes; the error names the redacted URL.
pub fn wait_ready(url: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match connect(url) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(Error::Cluster(format!("{} not ready: {e}", redact(url))))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_database_in_every_url_form() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/sdm?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(with_database("host=h dbname=sdm user=u", "x"), "host=h user=u dbname=x");
        assert_eq!(database_of("postgres://u@h/sdm").as_deref(), Some("sdm"));
    }

    #[test]
    fn socket_urls_are_percent_encoded() {
        assert_eq!(percent_encode("/tmp/a b"), "%2Ftmp%2Fa%20b");
    }
}
