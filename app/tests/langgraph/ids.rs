//! Checkpoint ids and channel versions follow LangGraph's conventions, whoever writes next.

use devdb::test_database;
use serde_json::json;

use crate::support::checks::{
    assert_langgraph_id, assert_linear_chain, listed_checkpoints, messages_read, version_counters,
};
use crate::support::python::Python;
use crate::support::sdm::{chat, onboard};

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn checkpoint_ids_and_channel_versions_follow_langgraph() {
    let python = Python::find();
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let written = python.run(&["write-thread", db.url(), &ada.thread_id]);
    let python_ids: Vec<(String, i64)> = listed_checkpoints(&written);

    // Several app turns right after Python's, faster than a clock tick apart.
    let mut app_ids = Vec::new();
    for message in ["one", "two", "three"] {
        app_ids.push(chat(&db, &ada, message)["checkpoint_id"].as_str().unwrap().to_string());
    }
    for id in &app_ids {
        for (python_id, _) in &python_ids {
            assert!(id > python_id, "app checkpoint {id} must sort after Python's {python_id}");
        }
    }
    assert!(app_ids.windows(2).all(|w| w[0] < w[1]), "app ids sort in write order: {app_ids:?}");

    // Python resumes after the app, and the app after Python: ids keep sorting in chain order.
    python.run(&["resume", db.url(), &ada.thread_id, "back to Python"]);
    let last = chat(&db, &ada, "and back to the app")["checkpoint_id"].as_str().unwrap().to_string();
    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);
    assert_eq!(read["checkpoint_id"], json!(last));
    let listed = listed_checkpoints(&read);
    assert_linear_chain(&read, listed.len());
    for (id, step) in &listed {
        assert_langgraph_id(id, *step);
    }
    let steps: Vec<i64> = listed.iter().rev().map(|(_, step)| *step).collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "steps grow along the chain: {steps:?}");

    // Every channel version, whoever wrote it, is LangGraph's format; the counter only grows.
    let counters: Vec<u64> = version_counters(&read, "messages").into_iter().rev().collect();
    assert!(counters.windows(2).all(|w| w[0] <= w[1]), "messages versions never go back along the chain: {counters:?}");
    assert!(counters.first() < counters.last(), "{counters:?}");
    for channel in read["channel_versions"].as_object().unwrap().keys() {
        assert!(!version_counters(&read, channel).is_empty(), "the latest checkpoint versions {channel}");
    }
}

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn app_checkpoints_follow_a_python_host_whose_clock_runs_ahead() {
    let python = Python::find();
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let written = python.run(&["write-thread", db.url(), &ada.thread_id, "--clock-ahead", "3600"]);
    let newest_python = listed_checkpoints(&written)[0].0.clone();

    let first = chat(&db, &ada, "one");
    let second = chat(&db, &ada, "two");
    let (first_id, second_id) = (first["checkpoint_id"].as_str().unwrap(), second["checkpoint_id"].as_str().unwrap());
    assert!(first_id > newest_python.as_str(), "{first_id} must sort after Python's {newest_python}");
    assert!(second_id > first_id, "{second_id} must sort after {first_id}");

    // Otherwise get_tuple() would still return Python's checkpoint and the app's turns would vanish.
    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);
    assert_eq!(read["checkpoint_id"], json!(second_id));
    let messages = messages_read(&read);
    assert_eq!(messages.len(), 9);
    assert_eq!(messages[7], ("human".to_string(), "two".to_string()));
    assert_eq!(messages[8], ("ai".to_string(), second["reply"].as_str().unwrap().to_string()));
    assert_linear_chain(&read, listed_checkpoints(&written).len() + 2);
}
