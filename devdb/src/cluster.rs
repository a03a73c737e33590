//! The ephemeral cluster's data folder: initdb once, start on demand, stop when the last user ends.
//!
//! The folder (by default `target/sdm-pg/`) holds `data/`, the server log and the lock files of
//! [`lifetime`](crate::lifetime). The server listens on a Unix socket only, trusts local
//! connections and runs with fsync off: it holds nothing that must survive.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::binaries::{self, chown_to_postgres, server_command};
use crate::{lifetime, majors, url, watchdog, Error, Result};

/// Settings appended to a new cluster's `postgresql.conf`: durability off, no TCP, enough
/// connections for parallel tests.
const CONF: &str = "\n# sdm ephemeral cluster\nlisten_addresses = ''\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\nshared_buffers = 128MB\nmax_wal_size = 1GB\ncheckpoint_timeout = 30min\nlog_min_messages = warning\n";

/// An initialised data folder and, while this value lives, a running server using it.
pub struct Cluster {
    root: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
}

impl Cluster {
    /// Initialises `root` once, starts the server unless it is running, and registers this
    /// process as a user of it until the value drops (or the process exits).
    pub fn start(root: &Path) -> Result<Cluster> {
        Cluster::start_major(root, majors::requested_major()?)
    }

    /// Starts like [`Cluster::start`], with the binaries of `major` (if given) rather than those
    /// `SDM_PG_VERSION` or the machine choose.
    pub fn start_major(root: &Path, major: Option<u32>) -> Result<Cluster> {
        // A Ctrl-C during start waits for this guard, then stops what we started.
        let _starting = lifetime::starting();
        let root = usable_root(root)?;
        let socket_dir = socket_dir_for(&root);
        let _control = lifetime::lock_control(&root)?;
        let data = root.join("data");
        let bin_dir = bin_dir_for(&data, major)?;
        if !data.join("PG_VERSION").exists() {
            initdb(&bin_dir, &data)?;
        }
        fs::create_dir_all(&socket_dir).map_err(|e| Error::io(&socket_dir, e))?;
        chown_to_postgres(&socket_dir)?;
        if !is_running(&bin_dir, &data) {
            start_server(&bin_dir, &root, &data, &socket_dir)?;
            if let Err(e) = watchdog::start(&root, &bin_dir, &data) {
                eprintln!(
                    "warning: {}; a killed process may leave the server running (`cargo xtask db stop` stops it)",
                    migrator::db::with_sources(&e)
                );
            }
        }
        let stop_bin_dir = bin_dir.clone();
        lifetime::hold(&root, move || stop_server(&stop_bin_dir, &data))?;
        Ok(Cluster { root, socket_dir, bin_dir })
    }

    /// Returns a URL for database `db` over the cluster's Unix socket.
    pub fn url_for(&self, db: &str) -> String {
        url::socket_url(&self.socket_dir, db)
    }

    /// Returns the cluster's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns the folder of the server binaries this cluster runs.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Unregisters this process; stops the server when no other process uses it.
    pub fn stop(&mut self) -> Result<()> {
        lifetime::release(&self.root)
    }

    /// Stops the server of the cluster in `root` that no process uses (one left behind), or,
    /// with `force`, whoever uses it. Returns whether a server was running.
    pub fn stop_left_behind(root: &Path, force: bool) -> Result<bool> {
        if !root.join("data").exists() {
            return Ok(false);
        }
        let root = usable_root(root)?;
        let data = root.join("data");
        let bin_dir = bin_dir_for(&data, majors::requested_major()?)?;
        let _control = lifetime::lock_control(&root)?;
        if !is_running(&bin_dir, &data) {
            return Ok(false);
        }
        if !force && lifetime::in_use(&root)? {
            return Err(Error::InUse(root));
        }
        stop_server(&bin_dir, &data)?;
        Ok(true)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("warning: {}", migrator::db::with_sources(&e));
        }
    }
}

/// Returns the workspace's default cluster folder: `$SDM_PG_DIR`, else `<target>/sdm-pg`, or
/// `<target>/sdm-pg-<major>` when `SDM_PG_VERSION` names a major (one cluster per major).
pub fn default_cluster_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SDM_PG_DIR") {
        return PathBuf::from(dir);
    }
    cluster_dir_for(majors::requested_major().ok().flatten())
}

/// Returns the folder of the workspace's cluster of `major` (`<target>/sdm-pg-<major>`), or the
/// default one (`<target>/sdm-pg`).
pub fn cluster_dir_for(major: Option<u32>) -> PathBuf {
    match major {
        Some(major) => majors::target_dir().join(format!("sdm-pg-{major}")),
        None => majors::target_dir().join("sdm-pg"),
    }
}

/// Returns the server binaries for the data folder `data`: of `major` when asked, else of the
/// major that made the folder (a cluster keeps its major), else the machine's; refuses binaries of
/// another major than the folder's.
fn bin_dir_for(data: &Path, major: Option<u32>) -> Result<PathBuf> {
    let data_major = fs::read_to_string(data.join("PG_VERSION")).ok().and_then(|v| v.trim().parse::<u32>().ok());
    let bin_dir = match (major, data_major) {
        (Some(major), _) => majors::server_bin_dir(major)?,
        (None, Some(data_major)) => match binaries::find_bin_dir() {
            Ok(dir) if majors::major_of(&dir, "postgres") == Some(data_major) => dir,
            _ => majors::server_bin_dir(data_major)?,
        },
        (None, None) => binaries::find_bin_dir()?,
    };
    if let (Some(data_major), Some(bin_major)) = (data_major, majors::major_of(&bin_dir, "postgres"))
        && data_major != bin_major
    {
        return Err(Error::ClusterOfOtherMajor { data: data.to_path_buf(), data_major, bin_major });
    }
    Ok(bin_dir)
}

/// Returns `preferred` if the `postgres` user can work in it, else a folder under the temp dir.
fn usable_root(preferred: &Path) -> Result<PathBuf> {
    fs::create_dir_all(preferred).map_err(|e| Error::io(preferred, e))?;
    let preferred = preferred.canonicalize().map_err(|e| Error::io(preferred, e))?;
    chown_to_postgres(&preferred)?;
    if binaries::postgres_can_write(&preferred) {
        return Ok(preferred);
    }
    // A parent folder is closed to the postgres user (e.g. under /root): fall back to /tmp.
    let fallback = std::env::temp_dir().join(format!("sdm-pg-{:016x}", fnv(preferred.to_string_lossy().as_bytes())));
    fs::create_dir_all(&fallback).map_err(|e| Error::io(&fallback, e))?;
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

fn initdb(bin_dir: &Path, data: &Path) -> Result<()> {
    let started = Instant::now();
    let _ = fs::remove_dir_all(data);
    crate::initdb::initdb(bin_dir, data, &["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])?;
    let conf_path = data.join("postgresql.conf");
    let mut text = fs::read_to_string(&conf_path).map_err(|e| Error::io(&conf_path, e))?;
    text.push_str(CONF);
    fs::write(&conf_path, text).map_err(|e| Error::io(&conf_path, e))?;
    eprintln!("initialised local postgres in {} ({:.1}s)", data.display(), started.elapsed().as_secs_f64());
    Ok(())
}

fn is_running(bin_dir: &Path, data: &Path) -> bool {
    let mut cmd = server_command(bin_dir, "pg_ctl");
    cmd.arg("-D").arg(data).arg("status");
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

fn start_server(bin_dir: &Path, root: &Path, data: &Path, socket_dir: &Path) -> Result<()> {
    let log = root.join("server.log");
    if !log.exists() {
        File::create(&log).map_err(|e| Error::io(&log, e))?;
    }
    chown_to_postgres(&log)?;
    let mut cmd = server_command(bin_dir, "pg_ctl");
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
    binaries::run(cmd, &format!("start postgres (log: {})", log.display()), "").map(drop)
}

fn stop_server(bin_dir: &Path, data: &Path) -> Result<()> {
    if !is_running(bin_dir, data) {
        // Already stopped (by `cargo xtask db stop --force`, say): nothing to do.
        return Ok(());
    }
    let mut cmd = server_command(bin_dir, "pg_ctl");
    cmd.arg("-D").arg(data).args(["-m", "fast", "-w", "-t", "60", "stop"]);
    binaries::run(cmd, "stop postgres", "").map(drop)
}

/// Returns the FNV-1a hash of `bytes`: a short, stable key for names.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}
