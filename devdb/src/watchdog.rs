//! The watchdog that stops a cluster whose users all ended without stopping it (`kill -9`).
//!
//! A process that ends normally, on `exit` or on a signal stops the server itself when it is the
//! last user (see [`lifetime`](crate::lifetime)). A killed one cannot, so whoever starts the server
//! also starts this small detached shell loop: every two seconds, while the postmaster lives, it
//! takes the control lock and the users lock without waiting (`flock -n`), and when both are free,
//! nobody uses the server, so it stops it. Taking the control lock first means it never races a
//! process that is starting, joining or leaving. Each round runs three programs (`sleep` and two
//! `flock`s), about 2.5 ms of CPU: once a second, that was 0.5 s of CPU per `cargo xtask verify`,
//! to stop a server a second sooner after a kill.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::binaries::server_command;
use crate::{Error, Result};

/// The loop: `$1` the cluster folder, `$2` the postmaster's pid, the rest the stop command.
/// The outer shell returns at once; the loop runs in a background subshell owned by init. The
/// locks are opened with `<`, which never creates a file: once the folder is gone, so is the loop.
const SCRIPT: &str = r#"cd "$1" || exit 1
pid=$2
shift 2
(
  while sleep 2; kill -0 "$pid" 2>/dev/null; do
    { flock -n 3 && { flock -n 4 && "$@"; } 4<users.lock; } 3<control.lock && exit 0
  done
) </dev/null >/dev/null 2>&1 &
"#;

/// Starts the watchdog for the server running on `data` (in cluster folder `root`).
pub(crate) fn start(root: &Path, bin_dir: &Path, data: &Path) -> Result<()> {
    let pid_file = data.join("postmaster.pid");
    let text = std::fs::read_to_string(&pid_file).map_err(|e| Error::io(&pid_file, e))?;
    let pid = text.lines().next().unwrap_or("").trim().to_string();
    let stop = server_command(bin_dir, "pg_ctl");
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(SCRIPT).arg("sh").arg(root).arg(pid).arg(stop.get_program()).args(stop.get_args());
    cmd.args(["-D".as_ref(), data.as_os_str()]).args(["-m", "fast", "-w", "-t", "60", "stop"]);
    // Its own process group: the terminal's Ctrl-C is for us, and we stop the server ourselves.
    use std::os::unix::process::CommandExt;
    cmd.process_group(0).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let status = cmd.status().map_err(|source| Error::Spawn { what: "the cluster's watchdog".into(), source })?;
    if !status.success() {
        return Err(Error::Failed { what: "start the cluster's watchdog".into(), status, output: String::new() });
    }
    Ok(())
}
