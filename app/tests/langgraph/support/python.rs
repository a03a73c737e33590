//! The Python side: the venv's interpreter and one `python/interop.py serve` worker per test
//! process, which answers every test's requests so the library's import time is paid once.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

use serde_json::{json, Value};

use super::workspace;

/// The interpreter that has the pinned LangGraph libraries, and the `interop.py serve` worker
/// this test process sends its requests to.
pub struct Python {
    /// The interpreter, for scripts the worker does not serve.
    pub exe: &'static Path,
    worker: &'static Mutex<Worker>,
}

/// Why the tests cannot reach Python.
enum Unavailable {
    /// The venv is missing or lacks LangGraph: the message says how to make it.
    Venv(String),
    /// The venv is fine but `interop.py serve` did not start: a bug to fix.
    Script(String),
}

impl Python {
    /// Returns the venv's interpreter with its worker, started once per process (which also
    /// checks that LangGraph imports); panics with the command that makes the venv when it is
    /// missing or unusable.
    ///
    /// Tests that call this carry `#[cfg_attr(sdm_skip_python, ignore = ...)]`: with
    /// `SDM_SKIP_PYTHON=1` they are reported as ignored and never get here.
    pub fn find() -> Python {
        static CHECKED: OnceLock<Result<(PathBuf, Mutex<Worker>), Unavailable>> = OnceLock::new();
        let checked = CHECKED.get_or_init(|| {
            let exe = std::env::var_os("SDM_PYTHON")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join(".venv").join("bin").join("python"));
            if !exe.exists() {
                return Err(Unavailable::Venv(format!("{} does not exist", exe.display())));
            }
            let worker = Worker::start(&exe)?;
            Ok((exe, Mutex::new(worker)))
        });
        match checked {
            Ok((exe, worker)) => Python { exe, worker },
            Err(Unavailable::Venv(why)) => panic!(
                "the LangGraph interop tests need the Python venv: {why}.\n\
                 Run `python3 python/setup-venv.py` at the workspace root (or set SDM_PYTHON to an \
                 interpreter with python/requirements.txt installed; SDM_SKIP_PYTHON=1 marks these tests ignored)."
            ),
            Err(Unavailable::Script(why)) => panic!("{why}"),
        }
    }

    /// Sends `interop.py ARGS...` to the worker; returns the JSON it answered, or its error message.
    fn request(&self, args: &[&str]) -> Result<Value, String> {
        // A test that panicked holding the lock left the worker between requests (or dead,
        // which `request` reports again), so the lock is still good to use.
        self.worker.lock().unwrap_or_else(PoisonError::into_inner).request(args)
    }

    /// Runs `interop.py ARGS...` and returns the JSON it answered; panics with its error on failure.
    pub fn run(&self, args: &[&str]) -> Value {
        self.request(args).unwrap_or_else(|error| panic!("interop.py {} failed:\nerror: {error}", args[0]))
    }

    /// Runs `interop.py ARGS...`, expecting it to fail; returns its error message.
    pub fn run_failing(&self, args: &[&str]) -> String {
        match self.request(args) {
            Ok(result) => panic!("interop.py {} should have failed, printed:\n{result:#}", args[0]),
            Err(error) => error,
        }
    }
}

/// A running `python/interop.py serve`: one JSON request per line in, one response per line out.
///
/// It lives in a static, which is never dropped: the worker ends when its stdin closes, and the
/// kernel closes it when this test process exits, however it exits.
struct Worker {
    child: Child,
    requests: ChildStdin,
    responses: BufReader<ChildStdout>,
    /// Collects the worker's stderr (library warnings, a crash's traceback) until it exits.
    stderr: Option<JoinHandle<String>>,
    /// Why the worker is gone, once it is: every later request fails with this.
    ended: Option<String>,
}

impl Worker {
    fn start(exe: &Path) -> Result<Worker, Unavailable> {
        let mut child = Command::new(exe)
            .arg(workspace().join("python").join("interop.py"))
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Unavailable::Venv(format!("cannot run {}: {e}", exe.display())))?;
        let requests = child.stdin.take().expect("piped stdin");
        let responses = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        // Drained all along, so a chatty library never blocks on a full pipe.
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        let mut worker = Worker { child, requests, responses, stderr: Some(stderr), ended: None };
        let mut ready = String::new();
        match worker.responses.read_line(&mut ready) {
            Ok(n) if n > 0 && serde_json::from_str::<Value>(&ready).ok() == Some(json!({"ready": true})) => Ok(worker),
            Ok(0) => {
                // It exited while loading: Python prints the failed import's traceback.
                let (status, stderr) = worker.end();
                if stderr.contains("ModuleNotFoundError") || stderr.contains("ImportError") {
                    Err(Unavailable::Venv(format!("{} cannot import LangGraph: {stderr}", exe.display())))
                } else {
                    Err(Unavailable::Script(format!("python/interop.py serve did not start ({status}):\n{stderr}")))
                }
            }
            read => {
                let _ = worker.child.kill();
                let (status, stderr) = worker.end();
                Err(Unavailable::Script(format!(
                    "python/interop.py serve did not start: expected {{\"ready\": true}} first, got {read:?} \
                     {ready:?} ({status}):\n{stderr}"
                )))
            }
        }
    }

    /// Sends one request; returns the result, or the command's error message (`COMMAND: ...`).
    /// Panics when the worker is gone, with what it said on stderr.
    fn request(&mut self, args: &[&str]) -> Result<Value, String> {
        if let Some(ended) = &self.ended {
            panic!("interop.py {}: the worker ended earlier: {ended}", args[0]);
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
            panic!("interop.py {}: the worker ended while answering ({answered:?}, {status}):\n{stderr}", args[0]);
        }
        let response: Value = match serde_json::from_str(&response) {
            Ok(response) => response,
            Err(e) => {
                // Requests and responses no longer pair up: no later answer can be trusted.
                let _ = self.child.kill();
                let (status, stderr) = self.end();
                panic!(
                    "interop.py {} answered with something that is not JSON ({e}):\n{response}\n({status}):\n{stderr}",
                    args[0]
                )
            }
        };
        match (&response["ok"], &response["error"]) {
            (Value::Bool(true), _) => Ok(response["result"].clone()),
            (Value::Bool(false), Value::String(error)) => Err(error.clone()),
            _ => panic!("interop.py {} answered without \"ok\" and \"result\" or \"error\": {response}", args[0]),
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
