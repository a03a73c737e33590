//! `python/langgraph_migrations.py serve`: one interpreter per venv answers every request of the
//! process, so the library's import (about 0.3 s of CPU) is paid once, not once per command.
//! `cargo xtask langgraph` asks twice (describe, then setup() in its proof); its tests ask a
//! dozen times.
//!
//! A worker ends when its stdin closes, which the kernel does when this process exits, however it
//! exits. One that dies while answering is reported with what it wrote on stderr, and the next
//! request starts a new one.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// The script, as messages name it.
pub(super) const SCRIPT: &str = "python/langgraph_migrations.py";

/// One request: `COMMAND URL`, with `env` set for it alone (`PG_DUMP`, `PGPASSWORD`).
pub(super) struct Request<'a> {
    pub command: &'a str,
    pub url: &'a str,
    pub env: Vec<(&'static str, String)>,
}

/// Sends `request` to the worker of interpreter `exe` (one per `exe` and `stamp`, the venv's
/// requirements stamp: a rebuilt venv gets a new one); returns its result, or its error message
/// as the script words it.
pub(super) fn request(exe: &Path, stamp: String, request: &Request<'_>) -> anyhow::Result<Result<Value, String>> {
    let slot = slot(exe, stamp);
    // A thread that panicked holding the lock left the worker between requests, or gone.
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    let worker = match &mut *slot {
        Some(worker) => worker,
        empty => empty.insert(Worker::start(exe)?),
    };
    let answer = worker.request(request);
    if answer.is_err() {
        // It died or no longer pairs answers with requests: the next request starts a new one.
        *slot = None;
    }
    answer
}

/// The worker of `exe` and `stamp`, when one runs.
type Slot = Arc<Mutex<Option<Worker>>>;

fn slot(exe: &Path, stamp: String) -> Slot {
    static WORKERS: Mutex<BTreeMap<(PathBuf, String), Slot>> = Mutex::new(BTreeMap::new());
    WORKERS.lock().unwrap_or_else(PoisonError::into_inner).entry((exe.to_path_buf(), stamp)).or_default().clone()
}

/// The process id of the worker of `exe` and `stamp`, when one runs.
#[cfg(test)]
pub(super) fn pid(exe: &Path, stamp: String) -> Option<u32> {
    slot(exe, stamp).lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(|worker| worker.child.id())
}

/// A running `langgraph_migrations.py serve`.
struct Worker {
    child: Child,
    requests: ChildStdin,
    responses: BufReader<ChildStdout>,
    /// Collects its stderr (library warnings, a crash's traceback), drained all along so a
    /// chatty library never blocks on a full pipe.
    stderr: Option<JoinHandle<String>>,
}

impl Worker {
    fn start(exe: &Path) -> anyhow::Result<Worker> {
        let script = crate::project_root().join(SCRIPT);
        let mut child = Command::new(exe)
            .arg(&script)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("run {}", exe.display()))?;
        let (Some(requests), Some(stdout), Some(mut pipe)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            bail!("{SCRIPT} serve: its pipes were not opened");
        };
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        let mut worker = Worker { child, requests, responses: BufReader::new(stdout), stderr: Some(stderr) };
        let mut ready = String::new();
        match worker.responses.read_line(&mut ready) {
            Ok(n) if n > 0 && serde_json::from_str::<Value>(&ready).ok() == Some(json!({"ready": true})) => Ok(worker),
            // It exited while loading (a missing library): the reason is its last line on stderr.
            Ok(0) => bail!("{SCRIPT} did not start: {}", worker.end()),
            read => {
                bail!("{SCRIPT} did not start: expected {{\"ready\": true}}, got {read:?} {ready:?}: {}", worker.end())
            }
        }
    }

    /// Sends one request: `Ok(Ok(result))`, `Ok(Err(what the command reported))`, or `Err` when
    /// the worker is gone or answered something else than a response.
    fn request(&mut self, request: &Request<'_>) -> anyhow::Result<Result<Value, String>> {
        let Request { command, url, env } = request;
        let env: BTreeMap<&str, &str> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let mut line = json!({"cmd": command, "args": [url], "env": env}).to_string();
        line.push('\n');
        let mut response = String::new();
        let answered = self
            .requests
            .write_all(line.as_bytes())
            .and_then(|()| self.requests.flush())
            .and_then(|()| self.responses.read_line(&mut response));
        if !matches!(answered, Ok(n) if n > 0) {
            bail!("{SCRIPT} {command}: the worker ended while answering: {}", self.end());
        }
        let response: Value = match serde_json::from_str(&response) {
            Ok(response) => response,
            Err(e) => bail!("{SCRIPT} {command} answered with something that is not JSON ({e}): {}", self.end()),
        };
        match (&response["ok"], &response["error"]) {
            (Value::Bool(true), _) => Ok(Ok(response["result"].clone())),
            (Value::Bool(false), Value::String(error)) => Ok(Err(error.clone())),
            _ => bail!("{SCRIPT} {command} answered without \"ok\" and \"result\" or \"error\": {}", self.end()),
        }
    }

    /// Stops the worker; returns its exit status and the last line it wrote on stderr.
    fn end(&mut self) -> String {
        let _ = self.child.kill();
        let status = match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => format!("cannot wait for it: {e}"),
        };
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("(nothing on stderr)");
        format!("{} ({status})", last.trim().trim_start_matches("error: "))
    }
}
