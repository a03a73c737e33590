//! Keeps a cluster running while any process uses it, and stops it when the last one ends.
//!
//! Every process using a cluster folder holds a shared `flock` on its `users.lock`. Starting and
//! stopping happen under an exclusive lock on `control.lock`. On the way out a process drops its
//! shared lock and, if it can then lock `users.lock` exclusively, nobody else uses the server and
//! it runs the stop action. `Drop` releases; an `atexit` hook does it for servers held in statics
//! (the test server, never dropped); a Ctrl-C / SIGTERM handler does it and exits with 130, once
//! the main thread has said what the interrupt stopped (or after a few seconds). A process
//! killed outright does none of this: the [`watchdog`](crate::watchdog) stops the
//! server then.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crate::{Error, Result};

/// What the last user of a cluster runs to stop it.
type Stop = Box<dyn FnOnce() -> Result<()> + Send>;

/// This process's use of the cluster in `root`: the shared lock that keeps it running.
struct Lease {
    root: PathBuf,
    users: File,
    stop: Stop,
}

impl Lease {
    /// Drops our shared lock; if no other process holds one, stops the server.
    fn release(self) -> Result<()> {
        let _control = lock_control(&self.root)?;
        // Unlock before closing: a child process another thread forked meanwhile shares the open
        // file until it execs, and closing alone would keep our lock (and the server) until then.
        let _ = self.users.unlock();
        drop(self.users);
        let path = self.root.join("users.lock");
        if open(&path)?.try_lock().is_ok() {
            (self.stop)()?;
        }
        Ok(())
    }
}

/// Leases this process holds, released by [`release`], or by the exit and signal hooks.
static ACTIVE: Mutex<Vec<Lease>> = Mutex::new(Vec::new());

/// Held while a cluster starts, so that the signal handler never exits half-way through.
static STARTING: Mutex<()> = Mutex::new(());

/// Set once Ctrl-C or SIGTERM arrived; the handler thread then owns the process's exit.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Set when the process starts to exit after an interrupt: its main thread has reported what the
/// interrupt stopped, and the signal handler may end the process.
static EXITING: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

/// How long the signal handler, having stopped the cluster, waits for the main thread to report
/// the failure that caused (a query on the stopped server fails at once) before it ends the process.
const REPORT_WAIT: Duration = Duration::from_secs(3);

/// Whether Ctrl-C or SIGTERM arrived: the handler is stopping the cluster, so what fails now
/// failed because of that.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Installs the exit hooks (once) and returns a guard that a Ctrl-C waits for: hold it while
/// starting a cluster, so an interrupt stops what was started instead of leaving it half-made.
pub(crate) fn starting() -> MutexGuard<'static, ()> {
    install_exit_hooks();
    STARTING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes the exclusive lock that serialises starting and stopping the cluster in `root`.
pub(crate) fn lock_control(root: &Path) -> Result<File> {
    let path = root.join("control.lock");
    let file = open(&path)?;
    file.lock().map_err(|e| Error::io(&path, e))?;
    Ok(file)
}

/// Registers this process as a user of the cluster in `root` until [`release`] or exit; `stop`
/// runs then if no other process uses it. Call it holding [`lock_control`].
pub(crate) fn hold(root: &Path, stop: impl FnOnce() -> Result<()> + Send + 'static) -> Result<()> {
    let path = root.join("users.lock");
    let users = open(&path)?;
    users.lock_shared().map_err(|e| Error::io(&path, e))?;
    let lease = Lease { root: root.to_path_buf(), users, stop: Box::new(stop) };
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).push(lease);
    Ok(())
}

/// Whether any process holds the cluster in `root` (call it holding [`lock_control`]).
pub(crate) fn in_use(root: &Path) -> Result<bool> {
    let path = root.join("users.lock");
    match open(&path)?.try_lock() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// Ends this process's use of the cluster in `root` (if it still holds one), stopping the server
/// when it was the last user.
pub(crate) fn release(root: &Path) -> Result<()> {
    let lease = {
        let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
        active.iter().position(|l| l.root == root).map(|i| active.remove(i))
    };
    lease.map_or(Ok(()), Lease::release)
}

fn release_all() {
    let active = std::mem::take(&mut *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for lease in active {
        if let Err(e) = lease.release() {
            eprintln!("warning: {}", migrator::db::with_sources(&e));
        }
    }
}

fn install_exit_hooks() {
    static HOOKS: OnceLock<()> = OnceLock::new();
    HOOKS.get_or_init(|| {
        extern "C" fn at_exit() {
            if INTERRUPTED.load(Ordering::SeqCst) {
                // The signal handler is stopping the cluster and ends the process itself once it
                // knows the main thread has said its last word.
                let (exiting, woken) = &EXITING;
                *exiting.lock().unwrap_or_else(|e| e.into_inner()) = true;
                woken.notify_all();
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
            // Ending the process now could cut off the main thread's report of what was stopped.
            let (exiting, woken) = &EXITING;
            let guard = exiting.lock().unwrap_or_else(|e| e.into_inner());
            drop(woken.wait_timeout_while(guard, REPORT_WAIT, |exiting| !*exiting));
            // SAFETY: _exit ends the process at once; the main thread may be inside exit().
            unsafe { libc::_exit(130) };
        });
    });
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(|e| Error::io(path, e))
}
