//! LangGraph.js, LangGraph (Python) and the app take turns on one thread, whichever started it,
//! and every reader sees every message, in order.
//!
//! Both library sides run a saver whose `getNextVersion` / `get_next_version` continues the
//! thread's own version form (`SharedThreadSaver` in js/interop.mjs and python/interop.py), as the
//! README asks of agents that share threads. Once Python has written msgpack blobs, LangGraph.js
//! cannot load the thread (its serializer knows only `json` and `bytes`): the app and Python still
//! read and continue it.

use devdb::test_database;

use crate::support::checks::{assert_linear_chain, listed_checkpoints, messages_read, version_kinds};
use crate::support::js::Js;
use crate::support::python::Python;
use crate::support::sdm::{chat, history, onboard, Onboarded};

/// The conversation so far, as (type, content) pairs every reader must show.
type Said = Vec<(String, String)>;

fn app_turn(db: &devdb::TestDatabase, who: &Onboarded, message: &str, said: &mut Said) {
    let turn = chat(db, who, message);
    said.push(("human".into(), message.into()));
    said.push(("ai".into(), turn["reply"].as_str().expect("reply").to_string()));
}

fn library_turn(reply_prefix: &str, resumed: &serde_json::Value, message: &str, said: &mut Said) {
    said.push(("human".into(), message.into()));
    said.push(("ai".into(), format!("{reply_prefix} heard: {message}")));
    assert_eq!(&messages_read(resumed), said, "{reply_prefix} continued the whole conversation");
}

/// Asserts every reader shows `said` and the thread is one chain in one version form.
fn all_read(db: &devdb::TestDatabase, who: &Onboarded, said: &Said, js: Option<&Js>, python: &Python, form: &str) {
    assert_eq!(&history(db, who), said, "sdm history");
    let by_python = python.run(&["read-thread", db.url(), &who.thread_id]);
    assert_eq!(&messages_read(&by_python), said, "Python");
    assert_linear_chain(&by_python, listed_checkpoints(&by_python).len());
    assert_eq!(version_kinds(&by_python), [form].into(), "one version form on the whole thread");
    if let Some(js) = js {
        let by_js = js.run(&["read-thread", db.url(), &who.thread_id, "--stock"]);
        assert_eq!(&messages_read(&by_js), said, "JS");
        assert_linear_chain(&by_js, listed_checkpoints(&by_js).len());
    }
}

#[test]
#[cfg_attr(sdm_skip_js, ignore = "SDM_SKIP_JS=1; to run: python3 js/setup-node-modules.py, then unset it")]
#[cfg_attr(
    all(sdm_skip_python, not(sdm_skip_js)),
    ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it"
)]
fn js_python_and_the_app_take_turns_on_a_thread_js_started() {
    let (js, python) = (Js::find(), Python::find());
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let url = db.url();

    let written = js.run(&["write-thread", url, &ada.thread_id, "--stock"]);
    let mut said = messages_read(&written);
    app_turn(&db, &ada, "I want to garden again", &mut said);
    let resumed = js.run(&["resume", url, &ada.thread_id, "What about injections?", "--stock"]);
    library_turn("JS", &resumed, "What about injections?", &mut said);
    app_turn(&db, &ada, "I live alone", &mut said);
    all_read(&db, &ada, &said, Some(&js), &python, "number");

    let resumed = python.run(&["resume", url, &ada.thread_id, "Is surgery an option?"]);
    library_turn("Python", &resumed, "Is surgery an option?", &mut said);
    app_turn(&db, &ada, "My goal is to walk the dog", &mut said);
    all_read(&db, &ada, &said, None, &python, "number");
    // Python's turn stored its messages as msgpack, which LangGraph.js does not load.
    let refused = js.run_failing(&["read-thread", url, &ada.thread_id, "--stock"]);
    assert!(refused.contains("Unknown serialization type: msgpack"), "{refused}");
    assert_eq!(said.len(), 14);
}

#[test]
#[cfg_attr(sdm_skip_js, ignore = "SDM_SKIP_JS=1; to run: python3 js/setup-node-modules.py, then unset it")]
#[cfg_attr(
    all(sdm_skip_python, not(sdm_skip_js)),
    ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it"
)]
fn js_python_and_the_app_take_turns_on_a_thread_the_app_started() {
    let (js, python) = (Js::find(), Python::find());
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let url = db.url();

    let mut said = Vec::new();
    app_turn(&db, &ada, "Climbing stairs is the hardest part", &mut said);
    let resumed = js.run(&["resume", url, &ada.thread_id, "What about injections?"]);
    library_turn("JS", &resumed, "What about injections?", &mut said);
    app_turn(&db, &ada, "I tried physio last year", &mut said);
    let resumed = js.run(&["resume", url, &ada.thread_id, "And tablets?"]);
    library_turn("JS", &resumed, "And tablets?", &mut said);
    all_read(&db, &ada, &said, Some(&js), &python, "string");

    let resumed = python.run(&["resume", url, &ada.thread_id, "Is surgery an option?"]);
    library_turn("Python", &resumed, "Is surgery an option?", &mut said);
    app_turn(&db, &ada, "My goal is to walk the dog", &mut said);
    all_read(&db, &ada, &said, None, &python, "string");
    assert_eq!(said.len(), 12);
}
