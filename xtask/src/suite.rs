//! Every test of the workspace, as verify runs them: built once, then run as `cargo test` groups
//! side by side, so both cores stay busy. `cargo test` runs a package's test binaries one after
//! another, so the packages with the longest binaries (xtask's, devdb's, squash's, app's) are
//! groups of their own and the rest share one; on 2 cores this took verify from 61-73 s (three
//! groups) to 47-54 s. xtask's unit tests and its integration tests are two groups: as one, its
//! integration binaries ran last, alone on the machine for the last 4 s of verify. Each group's
//! output is printed whole as soon as it ends, so they never interleave, and the groups still
//! running are named every few seconds.

use std::process::Command;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Instant;

use anyhow::{bail, Context};
use xshell::{cmd, Shell};

use ::squash::steps::HEARTBEAT;

/// The groups, as `cargo test` package selections that together cover the whole workspace.
const GROUPS: [&[&str]; 6] = [
    &["--package", "xtask", "--bins"],
    &["--package", "xtask", "--test", "*"],
    &["--package", "devdb"],
    &["--package", "squash"],
    &["--package", "app"],
    &["--workspace", "--exclude", "xtask", "--exclude", "devdb", "--exclude", "squash", "--exclude", "app"],
];

/// The Postgres-majors tier: the tests whose path holds `majors`, ignored in the groups above
/// because they need other majors' binaries, run on their own when those are installed.
const MAJORS_TIER: &[&str] = &[
    "--package",
    "devdb",
    "--package",
    "migrator",
    "--package",
    "squash",
    "--package",
    "xtask",
    "majors",
    "--",
    "--ignored",
];

/// The majors the tier compares with the test server's.
pub const TIER_MAJORS: [u32; 2] = [14, 18];

/// Returns why the majors tier cannot run here (a major's binaries are missing), or `None`.
pub fn majors_tier_missing() -> Option<String> {
    let missing: Vec<String> = TIER_MAJORS
        .iter()
        .filter(|major| devdb::majors::server_bin_dir(**major).is_err())
        .map(ToString::to_string)
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "no Postgres {} binaries; `python3 tools/pg-binaries.py {}` installs them",
            missing.join(" or "),
            TIER_MAJORS.map(|m| m.to_string()).join(" ")
        )
    })
}

/// Test threads per test binary for each core: the tests spend most of their time waiting on
/// Postgres, pg_dump, Python and Node.js, not on the core (on 2 cores the xtask binary took 46 s with
/// `cargo test`'s default of one thread per core, 28 s with 3 and 24 s with 4).
const THREADS_PER_CORE: usize = 4;

/// The interop tiers left out: their tests are built as ignored (`SDM_SKIP_PYTHON=1`,
/// `SDM_SKIP_JS=1`), so they are listed as such, never as passed.
#[derive(Debug, Clone, Copy)]
pub struct Skips {
    /// Leave out the tests against the Python LangGraph library.
    pub python: bool,
    /// Leave out the tests against LangGraph.js.
    pub js: bool,
}

/// Builds every test, then runs the groups concurrently against the database server `url`, with
/// [`THREADS_PER_CORE`] test threads per core unless `RUST_TEST_THREADS` says otherwise; with
/// `majors_tier`, the Postgres-majors tier as one group more.
pub fn run(sh: &Shell, url: &str, skips: Skips, majors_tier: bool) -> anyhow::Result<()> {
    let _skip_python = skips.python.then(|| sh.push_env("SDM_SKIP_PYTHON", "1"));
    let _skip_js = skips.js.then(|| sh.push_env("SDM_SKIP_JS", "1"));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let _threads = std::env::var_os("RUST_TEST_THREADS")
        .is_none()
        .then(|| sh.push_env("RUST_TEST_THREADS", (cores * THREADS_PER_CORE).to_string()));
    // The tier's four test binaries would each start and stop the Postgres 14 and 18 clusters
    // (about 0.6 s of CPU in all); held from here until the tier ends, they start once, while
    // the tests build.
    let majors = majors_tier.then(|| std::thread::spawn(|| TIER_MAJORS.map(devdb::Server::ephemeral_major_for_tests)));
    ::squash::steps::heartbeat("build the tests", || cmd!(sh, "cargo test --workspace --no-run").run())?;
    let mut held = match majors.map(std::thread::JoinHandle::join) {
        Some(Ok(servers)) => {
            Some(servers.into_iter().collect::<Result<Vec<_>, _>>().context("start the Postgres 14 and 18 clusters")?)
        }
        Some(Err(_)) => bail!("starting the Postgres 14 and 18 clusters panicked"),
        None => None,
    };
    let (done, finished) = mpsc::channel();
    let mut failed = Vec::new();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut running = Vec::new();
        for group in GROUPS.into_iter().chain(majors_tier.then_some(MAJORS_TIER)) {
            let done = done.clone();
            // A plain Command: xshell's Shell stays on this thread.
            let mut test = Command::from(cmd!(sh, "cargo test --quiet {group...}").env("DATABASE_URL", url));
            running.push(group.join(" "));
            scope.spawn(move || {
                let started = Instant::now();
                let out = test.output();
                let _ = done.send((group.join(" "), out, started.elapsed()));
            });
        }
        drop(done);
        // Each group prints as it ends; meanwhile the ones still running are named.
        let started = Instant::now();
        while !running.is_empty() {
            let (group, out, took) = match finished.recv_timeout(HEARTBEAT) {
                Ok(ended) => ended,
                Err(RecvTimeoutError::Timeout) => {
                    let secs = started.elapsed().as_secs_f64();
                    eprintln!("    ... after {secs:.0}s still running: cargo test {}", running.join(", cargo test "));
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => bail!("a test group ended without a word"),
            };
            running.retain(|g| *g != group);
            if group == MAJORS_TIER.join(" ") {
                // Stopped beside the groups still running.
                let servers = held.take();
                scope.spawn(move || drop(servers));
            }
            let out = out?;
            let verdict = if out.status.success() { "ok" } else { "FAILED" };
            eprintln!("    --- cargo test {group}: {verdict} in {:.1}s", took.as_secs_f64());
            eprint!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
            if !out.status.success() {
                failed.push(format!("cargo test {group} ({})", out.status));
            }
        }
        Ok(())
    })?;
    if !failed.is_empty() {
        bail!("{} failed; the output is above", failed.join(" and "));
    }
    Ok(())
}
