//! The JavaScript side: Node.js with the LangGraph.js libraries pinned in `js/package-lock.json`
//! (installed into `js/node_modules` by `python3 js/setup-node-modules.py`), and one
//! `node js/interop.mjs serve` worker per test process.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::worker::{Client, Unavailable, Worker};
use super::workspace;

/// The `interop.mjs serve` worker this test process sends its requests to (`run`, `run_failing`).
pub struct Js {
    worker: Client,
}

impl Deref for Js {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.worker
    }
}

impl Js {
    /// Returns the worker, started once per process after checking that `js/node_modules` holds
    /// the pinned releases; panics with the command that installs them when it does not.
    ///
    /// Tests that call this carry `#[cfg_attr(sdm_skip_js, ignore = ...)]`: with `SDM_SKIP_JS=1`
    /// they are reported as ignored and never get here.
    pub fn find() -> Js {
        static CHECKED: OnceLock<Result<Mutex<Worker>, Unavailable>> = OnceLock::new();
        let checked = CHECKED.get_or_init(|| {
            let js = workspace().join("js");
            check_pins(&js).map_err(Unavailable::Missing)?;
            let node = std::env::var_os("SDM_NODE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("node"));
            let mut command = Command::new(node);
            command.arg(js.join("interop.mjs")).arg("serve");
            Worker::start(command, "interop.mjs", &["ERR_MODULE_NOT_FOUND", "Cannot find package"]).map(Mutex::new)
        });
        match checked {
            Ok(worker) => Js { worker: Client::new("interop.mjs", worker) },
            Err(Unavailable::Missing(why)) => panic!(
                "the LangGraph.js interop tests need Node.js and js/node_modules: {why}.\n\
                 Run `python3 js/setup-node-modules.py` at the workspace root (it needs Node.js and npm: \
                 apt-get install -y nodejs npm; SDM_NODE picks another node; SDM_SKIP_JS=1 marks these tests ignored)."
            ),
            Err(Unavailable::Script(why)) => panic!("{why}"),
        }
    }
}

/// Checks that every dependency `js/package.json` pins is installed at that version.
fn check_pins(js: &Path) -> Result<(), String> {
    let manifest = read_json(&js.join("package.json"))?;
    let pins = manifest["dependencies"].as_object().ok_or("js/package.json has no dependencies")?;
    for (name, pinned) in pins {
        let installed = js.join("node_modules").join(name).join("package.json");
        if !installed.exists() {
            return Err(format!("js/node_modules has no {name}"));
        }
        let version = read_json(&installed)?["version"].clone();
        if &version != pinned {
            return Err(format!("js/node_modules holds {name} {version}, js/package.json pins {pinned}"));
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}
