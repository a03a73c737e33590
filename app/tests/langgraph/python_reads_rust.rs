//! Python reads a conversation the app wrote, resumes it, and the app carries on after it.

use devdb::test_database;

use crate::support::checks::{assert_langgraph_id, assert_linear_chain, listed_checkpoints, messages_read};
use crate::support::python::Python;
use crate::support::sdm::{chat, history, onboard};

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn python_reads_and_resumes_a_conversation_the_app_wrote() {
    let python = Python::find();
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let said = ["Climbing stairs is the hardest part", "I tried physio last year", "I live alone"];
    let mut expected = Vec::new();
    for message in said {
        let turn = chat(&db, &ada, message);
        expected.push(("human".to_string(), message.to_string()));
        expected.push(("ai".to_string(), turn["reply"].as_str().expect("reply").to_string()));
    }
    let as_rust_shows_it = history(&db, &ada);
    assert_eq!(as_rust_shows_it, expected);

    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);

    assert_eq!(messages_read(&read), expected, "Python reads the app's messages, in order");
    for m in read["messages"].as_array().unwrap() {
        let class = m["class"].as_str().unwrap();
        assert!(
            class == "langchain_core.messages.human.HumanMessage" || class == "langchain_core.messages.ai.AIMessage",
            "{class} is not a LangChain message class"
        );
        assert!(m["id"].is_string(), "the app gives every message an id: {m}");
    }
    assert_linear_chain(&read, said.len());
    for (id, step) in listed_checkpoints(&read) {
        assert_langgraph_id(&id, step);
    }

    // A Python graph compiled with the same checkpointer picks the thread up and adds a turn.
    let resumed = python.run(&["resume", db.url(), &ada.thread_id, "What about injections?"]);
    let mut with_python = expected.clone();
    with_python.push(("human".into(), "What about injections?".into()));
    with_python.push(("ai".into(), "Python heard: What about injections?".into()));
    assert_eq!(messages_read(&resumed), with_python);
    assert_eq!(history(&db, &ada), with_python, "the app reads the turn Python added");

    // The app keeps going on the thread Python wrote to, and Python sees the whole conversation.
    let turn = chat(&db, &ada, "My goal is to walk the dog");
    with_python.push(("human".into(), "My goal is to walk the dog".into()));
    with_python.push(("ai".into(), turn["reply"].as_str().unwrap().to_string()));
    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);
    assert_eq!(messages_read(&read), with_python);
    assert_eq!(read["checkpoint_id"], turn["checkpoint_id"], "the app's checkpoint is the latest");
    let total = listed_checkpoints(&read).len();
    assert_linear_chain(&read, total);
    assert!(total > said.len() + 1, "Python's graph added its own checkpoints: {total}");
}
