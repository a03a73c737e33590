//! The `langgraph_migrations.py serve` worker: a failed command is an answer, and the worker goes
//! on; a worker that dies is reported with how it ended, and forgotten, so that the next request
//! starts another (as the first request of a process does). The test that kills a worker kills
//! one of its own (its own key), so no other test loses the worker it shares.

use devdb::{empty_database, test_server};

use super::super::worker::{self, Request};
use super::super::Python;
use super::shell;

fn python() -> Python {
    Python::workspace(&shell(), &crate::project_root()).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs `setup URL` on the worker `key` of the workspace's interpreter.
fn setup(python: &Python, key: &str, url: &str) -> anyhow::Result<Result<serde_json::Value, String>> {
    let env = vec![("PG_DUMP", test_server().bin("pg_dump").unwrap().to_string_lossy().into_owned())];
    worker::request(&python.exe, key.to_string(), &Request { command: "setup", url, env })
}

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn a_command_that_fails_is_answered_and_the_same_worker_answers_the_next() {
    // The worker the other tests of this process share.
    let python = python();
    let key = &python.stamp();
    let missing = test_server().url_for("sdm_no_such_database");
    let error = setup(&python, key, &missing).unwrap().unwrap_err();
    assert!(error.starts_with("setup: ") && error.contains("\"sdm_no_such_database\" does not exist"), "{error}");
    let pid = worker::pid(&python.exe, key.into()).expect("the worker still runs");

    let db = empty_database();
    let recorded = setup(&python, key, db.url()).unwrap().unwrap();
    assert!(!recorded["checkpoint_migrations"].as_array().unwrap().is_empty(), "{recorded}");
    assert_eq!(worker::pid(&python.exe, key.into()), Some(pid), "one worker answered both");
}

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn a_worker_that_died_is_reported_and_forgotten() {
    let (python, key, db) = (python(), "test: a worker that died", empty_database());
    setup(&python, key, db.url()).unwrap().unwrap();
    let pid = worker::pid(&python.exe, key.into()).expect("a worker runs");
    let killed = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
    assert!(killed.success());

    let error = format!("{:#}", setup(&python, key, db.url()).unwrap_err());
    assert!(
        error.starts_with("python/langgraph_migrations.py setup: the worker ended while answering: ")
            && error.contains("signal: 9"),
        "{error}"
    );
    assert_eq!(worker::pid(&python.exe, key.into()), None, "the dead worker is forgotten");
}
