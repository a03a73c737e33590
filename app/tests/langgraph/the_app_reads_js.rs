//! The app reads a thread LangGraph.js wrote, adds to it in the thread's own version form, and
//! JavaScript carries on after it without losing a message; Python's stock saver refuses such a
//! thread without writing to it.

use devdb::test_database;
use serde_json::json;

use crate::support::checks::{assert_linear_chain, listed_checkpoints, messages_read, pairs, version_kinds};
use crate::support::js::Js;
use crate::support::python::Python;
use crate::support::sdm::{chat, history, onboard, sdm_text};

#[test]
#[cfg_attr(sdm_skip_js, ignore = "SDM_SKIP_JS=1; to run: python3 js/setup-node-modules.py, then unset it")]
fn the_app_reads_and_continues_a_thread_js_wrote() {
    let js = Js::find();
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");

    // The team's JS agent, with the stock PostgresSaver, runs the conversation's thread.
    let written = js.run(&["write-thread", db.url(), &ada.thread_id, "--stock"]);
    let mut expected = pairs(&[
        ("human", "My knee hurts when I climb stairs."),
        ("ai", "Let me look up the options for your journey."),
        ("tool", "physio, injection, surgery"),
        ("ai", "Physiotherapy is a good first option for you."),
    ]);
    assert_eq!(messages_read(&written), expected);
    assert_eq!(version_kinds(&written), ["number"].into(), "LangGraph.js numbers its versions");
    assert_eq!(history(&db, &ada), expected, "the app reads JS's json blobs");
    let text = sdm_text(&db, &["history", "--conversation", &ada.conversation()]);
    assert!(text.contains("tool: physio, injection, surgery"), "{text}");

    // The app adds a turn in the thread's form: numbers, one past the highest.
    let turn = chat(&db, &ada, "I want to be able to garden again");
    expected.push(("human".into(), "I want to be able to garden again".into()));
    expected.push(("ai".into(), turn["reply"].as_str().unwrap().to_string()));
    let read = js.run(&["read-thread", db.url(), &ada.thread_id, "--stock"]);
    assert_eq!(messages_read(&read), expected);
    assert_eq!(read["checkpoint_id"], turn["checkpoint_id"]);
    assert_eq!(version_kinds(&read), ["number"].into(), "the app kept the thread's number versions");
    let highest_before = written["checkpoints"][0]["channel_versions"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(serde_json::Value::as_u64)
        .max()
        .unwrap();
    assert_eq!(read["channel_versions"]["messages"], json!(highest_before + 1));
    assert_eq!(read["messages"][1]["tool_calls"][0]["id"], json!("call_options_1"), "the tool call survives");

    // JS's stock saver carries on: the graph runs, the user's message is kept, the app reads it.
    let resumed = js.run(&["resume", db.url(), &ada.thread_id, "What about injections?", "--stock"]);
    expected.push(("human".into(), "What about injections?".into()));
    expected.push(("ai".into(), "JS heard: What about injections?".into()));
    assert_eq!(messages_read(&resumed), expected);
    assert_eq!(history(&db, &ada), expected);
    let total = listed_checkpoints(&resumed).len();
    assert_linear_chain(&resumed, total);
    assert_eq!(version_kinds(&resumed), ["number"].into());
}

#[test]
#[cfg_attr(sdm_skip_js, ignore = "SDM_SKIP_JS=1; to run: python3 js/setup-node-modules.py, then unset it")]
#[cfg_attr(
    all(sdm_skip_python, not(sdm_skip_js)),
    ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it"
)]
fn python_s_stock_saver_refuses_a_js_thread_and_writes_nothing() {
    let (js, python) = (Js::find(), Python::find());
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let written = js.run(&["write-thread", db.url(), &ada.thread_id, "--stock"]);
    let before = messages_read(&written);

    // Python's own get_next_version writes a string where the thread has numbers, and its next
    // comparison of the two raises: the library's limit, which docs/langgraph.md's override lifts.
    let refused = python.run_failing(&["resume", db.url(), &ada.thread_id, "Is surgery an option?", "--stock"]);
    assert!(refused.contains("TypeError: '>' not supported between instances of 'str' and 'int'"), "{refused}");
    let read = js.run(&["read-thread", db.url(), &ada.thread_id, "--stock"]);
    assert_eq!(messages_read(&read), before, "the refused turn wrote no message");
    assert_eq!(listed_checkpoints(&read), listed_checkpoints(&written), "nor a checkpoint");
    assert_eq!(version_kinds(&read), ["number"].into());
}
