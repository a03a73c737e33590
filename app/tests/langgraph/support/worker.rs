//! A long-lived interop worker (`python/interop.py serve`, `node js/interop.mjs serve`): one JSON
//! request per line in, one response per line out, so a library's load time is paid once per
//! test process.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

use serde_json::{json, Value};

/// Why the tests cannot reach a worker.
pub enum Unavailable {
    /// The interpreter or the pinned libraries are missing: the message says what is missing.
    Missing(String),
    /// The libraries are there but the worker did not start: a bug to fix.
    Script(String),
}

/// A started worker, shared by every test of the process.
pub struct Client {
    /// The script, as messages name it (`interop.py`, `interop.mjs`).
    pub script: &'static str,
    worker: &'static Mutex<Worker>,
}

impl Client {
    /// Wraps a worker that lives as long as the process.
    pub fn new(script: &'static str, worker: &'static Mutex<Worker>) -> Client {
        Client { script, worker }
    }

    /// Sends `SCRIPT ARGS...` to the worker; returns the JSON it answered, or its error message.
    fn request(&self, args: &[&str]) -> Result<Value, String> {
        // A test that panicked holding the lock left the worker between requests (or dead,
        // which `request` reports again), so the lock is still good to use.
        self.worker.lock().unwrap_or_else(PoisonError::into_inner).request(args)
    }

    /// Runs `SCRIPT ARGS...` and returns the JSON it answered; panics with its error on failure.
    pub fn run(&self, args: &[&str]) -> Value {
        self.request(args).unwrap_or_else(|error| panic!("{} {} failed:\nerror: {error}", self.script, args[0]))
    }

    /// Runs `SCRIPT ARGS...`, expecting it to fail; returns its error message.
    pub fn run_failing(&self, args: &[&str]) -> String {
        match self.request(args) {
            Ok(result) => panic!("{} {} should have failed, printed:\n{result:#}", self.script, args[0]),
            Err(error) => error,
        }
    }
}

/// A running `interop serve` worker: one JSON request per line in, one response per line out.
///
/// It lives in a static, which is never dropped: the worker ends when its stdin closes, and the
/// kernel closes it when this test process exits, however it exits.
pub struct Worker {
    script: &'static str,
    child: Child,
    requests: ChildStdin,
    responses: BufReader<ChildStdout>,
    /// Collects the worker's stderr (library warnings, a crash's traceback) until it exits.
    stderr: Option<JoinHandle<String>>,
    /// Why the worker is gone, once it is: every later request fails with this.
    ended: Option<String>,
}

impl Worker {
    /// Starts `command` (which runs `script serve`); stderr holding one of `missing` means the
    /// libraries are not installed rather than a broken script.
    pub fn start(mut command: Command, script: &'static str, missing: &[&str]) -> Result<Worker, Unavailable> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Unavailable::Missing(format!("cannot run {program}: {e}")))?;
        let requests = child.stdin.take().expect("piped stdin");
        let responses = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        // Drained all along, so a chatty library never blocks on a full pipe.
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        let mut worker = Worker { script, child, requests, responses, stderr: Some(stderr), ended: None };
        let mut ready = String::new();
        match worker.responses.read_line(&mut ready) {
            Ok(n) if n > 0 && serde_json::from_str::<Value>(&ready).ok() == Some(json!({"ready": true})) => Ok(worker),
            Ok(0) => {
                // It exited while loading: the failed import is on stderr.
                let (status, stderr) = worker.end();
                if missing.iter().any(|m| stderr.contains(m)) {
                    Err(Unavailable::Missing(format!("{program} cannot load LangGraph: {stderr}")))
                } else {
                    Err(Unavailable::Script(format!("{script} serve did not start ({status}):\n{stderr}")))
                }
            }
            read => {
                let _ = worker.child.kill();
                let (status, stderr) = worker.end();
                Err(Unavailable::Script(format!(
                    "{script} serve did not start: expected {{\"ready\": true}} first, got {read:?} \
                     {ready:?} ({status}):\n{stderr}"
                )))
            }
        }
    }

    /// Sends one request; returns the result, or the command's error message (`COMMAND: ...`).
    /// Panics when the worker is gone, with what it said on stderr.
    pub fn request(&mut self, args: &[&str]) -> Result<Value, String> {
        if let Some(ended) = &self.ended {
            panic!("{} {}: the worker ended earlier: {ended}", self.script, args[0]);
        }
        let mut line = json!({"cmd": args[0], "args": &args[1..]}).to_string();
        line.push('\n');
        let mut response = String::new();
        let answered = self
            .requests
            .write_all(line.as_bytes())
            .and_then(|()| self.requests.flush())
            .and_then(|()| self.responses.read_line(&mut response));
        if !matches!(answered, Ok(n) if n > 0) {
            let _ = self.child.kill();
            let (status, stderr) = self.end();
            panic!("{} {}: the worker ended while answering ({answered:?}, {status}):\n{stderr}", self.script, args[0]);
        }
        let response: Value = match serde_json::from_str(&response) {
            Ok(response) => response,
            Err(e) => {
                // Requests and responses no longer pair up: no later answer can be trusted.
                let _ = self.child.kill();
                let (status, stderr) = self.end();
                panic!(
                    "{} {} answered with something that is not JSON ({e}):\n{response}\n({status}):\n{stderr}",
                    self.script, args[0]
                )
            }
        };
        match (&response["ok"], &response["error"]) {
            (Value::Bool(true), _) => Ok(response["result"].clone()),
            (Value::Bool(false), Value::String(error)) => Err(error.clone()),
            _ => panic!("{} {} answered without \"ok\" and \"result\" or \"error\": {response}", self.script, args[0]),
        }
    }

    /// Waits for the exited worker; returns its exit status and stderr, and remembers them.
    fn end(&mut self) -> (String, String) {
        let status = match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => format!("cannot wait for it: {e}"),
        };
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let stderr = stderr.trim().to_string();
        self.ended = Some(format!("{status}:\n{stderr}"));
        (status, stderr)
    }
}
