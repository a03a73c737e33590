//! Deleting from the app leaves Python nothing of the conversation or user, and touches no one else.

use devdb::test_database;
use serde_json::json;

use crate::support::checks::messages_read;
use crate::support::python::Python;
use crate::support::sdm::{chat, onboard, sdm};

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn deleting_a_conversation_or_a_user_leaves_python_nothing() {
    let python = Python::find();
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let bob = onboard(&db, "bob@example.org");
    // Ada's conversation: written by Python (with pending writes), then by the app.
    python.run(&["write-thread", db.url(), &ada.thread_id]);
    chat(&db, &ada, "Climbing stairs is the hardest part");
    python.run(&["store-put", db.url(), &ada.memories(), "python-note", r#"{"text": "from the agent"}"#]);
    python.run(&["store-put", db.url(), &format!("users.{}.preferences", ada.user_id), "tone", r#"{"tone": "brief"}"#]);
    // Bob's: written by the app, resumed by Python.
    chat(&db, &bob, "I tried physio last year");
    python.run(&["resume", db.url(), &bob.thread_id, "Anything else?"]);
    python.run(&["store-put", db.url(), &bob.memories(), "python-note", r#"{"text": "bob's"}"#]);

    let before = python.run(&["thread-exists", db.url(), &ada.thread_id]);
    assert_eq!(before["exists"], json!(true));
    assert!(before["rows"]["checkpoint_writes"].as_i64().unwrap() > 0, "Python left pending writes: {before}");

    // Deleting Ada's conversation removes its thread, blobs and writes, and its memories.
    let deleted = sdm(&db, &["conversation", "delete", &ada.conversation()]);
    assert_eq!(deleted["thread_id"], json!(ada.thread_id));
    let after = python.run(&["thread-exists", db.url(), &ada.thread_id]);
    assert_eq!(
        after,
        json!({"thread_id": ada.thread_id, "exists": false, "checkpoints_listed": 0,
               "rows": {"checkpoints": 0, "checkpoint_blobs": 0, "checkpoint_writes": 0}})
    );
    let left = python.run(&["namespace-items", db.url(), &ada.memories()]);
    let keys: Vec<&str> =
        left[ada.memories()]["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["python-note"], "the conversation's memories go; the user's other memories stay");

    // Deleting Ada removes every namespace under users.<id>, whoever wrote it.
    let ada_root = format!("users.{}", ada.user_id);
    assert_eq!(
        python.run(&["namespace-items", db.url(), &ada_root])[&ada_root]["namespaces"].as_array().unwrap().len(),
        2
    );
    sdm(&db, &["user", "delete", "--email", &ada.email]);
    let left = python.run(&["namespace-items", db.url(), &ada_root]);
    assert_eq!(left[&ada_root], json!({"items": [], "namespaces": []}));

    // Deleting Bob (conversation and all) leaves nothing of his thread either.
    sdm(&db, &["user", "delete", "--email", &bob.email]);
    let gone = python.run(&["thread-exists", db.url(), &bob.thread_id]);
    assert_eq!(gone["exists"], json!(false));
    assert_eq!(gone["rows"], json!({"checkpoints": 0, "checkpoint_blobs": 0, "checkpoint_writes": 0}));
    let bob_root = format!("users.{}", bob.user_id);
    assert_eq!(
        python.run(&["namespace-items", db.url(), &bob_root])[&bob_root],
        json!({"items": [], "namespaces": []})
    );
    let err = python.run_failing(&["read-thread", db.url(), &bob.thread_id]);
    assert!(err.contains(&format!("thread {} has no checkpoint", bob.thread_id)), "{err}");
}

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn deleting_one_user_leaves_another_users_rows_alone() {
    let python = Python::find();
    let db = test_database();
    // Store prefixes are text: users.1 is a prefix of users.10. Only whole labels may match.
    let first = onboard(&db, "first@example.org");
    let mut n = 0;
    let shares_prefix = loop {
        n += 1;
        assert!(n < 200, "no user id that starts with {} after {n} users", first.user_id);
        let other = onboard(&db, &format!("p{n}@example.org"));
        if other.user_id.to_string().starts_with(&first.user_id.to_string()) {
            break other;
        }
    };
    for p in [&first, &shares_prefix] {
        chat(&db, p, "Climbing stairs is the hardest part");
        python.run(&["store-put", db.url(), &p.memories(), "note", r#"{"text": "kept"}"#]);
    }

    sdm(&db, &["user", "delete", "--email", &first.email]);

    let survivor = python.run(&["read-thread", db.url(), &shares_prefix.thread_id]);
    assert_eq!(messages_read(&survivor).len(), 2);
    let root = format!("users.{}", shares_prefix.user_id);
    let items = python.run(&["namespace-items", db.url(), &root]);
    assert_eq!(items[&root]["items"].as_array().unwrap().len(), 2, "{items}");
    let gone = format!("users.{}", first.user_id);
    assert_eq!(python.run(&["namespace-items", db.url(), &gone])[&gone], json!({"items": [], "namespaces": []}));
}
