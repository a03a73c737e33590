//! The Python side: the venv's interpreter and one `python/interop.py serve` worker per test
//! process, which answers every test's requests so the library's import time is paid once.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use super::worker::{Client, Unavailable, Worker};
use super::workspace;

/// The interpreter that has the pinned LangGraph libraries, and the `interop.py serve` worker
/// this test process sends its requests to (`run`, `run_failing`).
pub struct Python {
    /// The interpreter, for scripts the worker does not serve.
    pub exe: &'static Path,
    worker: Client,
}

impl Deref for Python {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.worker
    }
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
                return Err(Unavailable::Missing(format!("{} does not exist", exe.display())));
            }
            let mut command = Command::new(&exe);
            command.arg(workspace().join("python").join("interop.py")).arg("serve");
            let worker = Worker::start(command, "interop.py", &["ModuleNotFoundError", "ImportError"])?;
            Ok((exe, Mutex::new(worker)))
        });
        match checked {
            Ok((exe, worker)) => Python { exe, worker: Client::new("interop.py", worker) },
            Err(Unavailable::Missing(why)) => panic!(
                "the LangGraph interop tests need the Python venv: {why}.\n\
                 Run `python3 python/setup-venv.py` at the workspace root (or set SDM_PYTHON to an \
                 interpreter with python/requirements.txt installed; SDM_SKIP_PYTHON=1 marks these tests ignored)."
            ),
            Err(Unavailable::Script(why)) => panic!("{why}"),
        }
    }
}
