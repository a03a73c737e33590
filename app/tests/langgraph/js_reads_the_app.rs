//! LangGraph.js reads a conversation the app wrote, continues it, and the app carries on after it.

use devdb::test_database;

use crate::support::checks::{
    assert_langgraph_id, assert_linear_chain, listed_checkpoints, messages_read, version_kinds,
};
use crate::support::js::Js;
use crate::support::sdm::{chat, history, onboard};

#[test]
#[cfg_attr(sdm_skip_js, ignore = "SDM_SKIP_JS=1; to run: python3 js/setup-node-modules.py, then unset it")]
fn js_reads_and_continues_a_conversation_the_app_wrote() {
    let js = Js::find();
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let said = ["Climbing stairs is the hardest part", "I tried physio last year"];
    let mut expected = Vec::new();
    for message in said {
        let turn = chat(&db, &ada, message);
        expected.push(("human".to_string(), message.to_string()));
        expected.push(("ai".to_string(), turn["reply"].as_str().expect("reply").to_string()));
    }

    // The stock PostgresSaver reads every checkpoint (getTuple, list) and loads the app's messages.
    let read = js.run(&["read-thread", db.url(), &ada.thread_id, "--stock"]);
    assert_eq!(messages_read(&read), expected, "JS reads the app's messages, in order");
    for m in read["messages"].as_array().unwrap() {
        let class = m["class"].as_str().unwrap();
        assert!(
            class == "langchain_core.messages.HumanMessage" || class == "langchain_core.messages.AIMessage",
            "{class} is not a LangChain.js message class"
        );
        assert!(m["id"].is_string(), "message ids come through: {m}");
    }
    assert_linear_chain(&read, said.len());
    for (id, step) in listed_checkpoints(&read) {
        assert_langgraph_id(&id, step);
    }

    // The app's versions are Python's strings, which the stock saver cannot continue (the
    // library's own limit): it refuses before writing anything.
    let refused = js.run_failing(&["resume", db.url(), &ada.thread_id, "What about injections?", "--stock"]);
    assert!(refused.contains("Please override this method to use string versions."), "{refused}");
    assert_eq!(history(&db, &ada), expected, "the refused turn wrote no message");
    let after = js.run(&["read-thread", db.url(), &ada.thread_id, "--stock"]);
    assert_eq!(listed_checkpoints(&after), listed_checkpoints(&read), "nor a checkpoint");

    // With getNextVersion in Python's form (js/interop.mjs's SharedThreadSaver), a JS graph adds a turn.
    let resumed = js.run(&["resume", db.url(), &ada.thread_id, "What about injections?"]);
    expected.push(("human".into(), "What about injections?".into()));
    expected.push(("ai".into(), "JS heard: What about injections?".into()));
    assert_eq!(messages_read(&resumed), expected);
    assert_eq!(history(&db, &ada), expected, "the app reads the turn JS added");

    // The app carries on; JS sees the whole conversation, in one chain of string versions.
    let turn = chat(&db, &ada, "My goal is to walk the dog");
    expected.push(("human".into(), "My goal is to walk the dog".into()));
    expected.push(("ai".into(), turn["reply"].as_str().unwrap().to_string()));
    let read = js.run(&["read-thread", db.url(), &ada.thread_id, "--stock"]);
    assert_eq!(messages_read(&read), expected);
    assert_eq!(read["checkpoint_id"], turn["checkpoint_id"], "the app's checkpoint is the latest");
    let total = listed_checkpoints(&read).len();
    assert_linear_chain(&read, total);
    assert!(total > said.len() + 1, "JS's graph added its own checkpoints: {total}");
    assert_eq!(version_kinds(&read), ["string"].into(), "the thread keeps Python's version form");
}

#[test]
#[cfg_attr(sdm_skip_js, ignore = "SDM_SKIP_JS=1; to run: python3 js/setup-node-modules.py, then unset it")]
fn a_thread_with_the_old_message_ids_loads_in_js_after_the_apps_next_turn() {
    let js = Js::find();
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let mut expected = Vec::new();
    for message in ["Climbing stairs is the hardest part", "I tried physio last year"] {
        let turn = chat(&db, &ada, message);
        expected.push(("human".to_string(), message.to_string()));
        expected.push(("ai".to_string(), turn["reply"].as_str().unwrap().to_string()));
    }
    // Every blob as the app wrote it before: ids under the `langchain.schema.messages` alias.
    let mut client = db.connect();
    let aged = client
        .execute(
            r#"UPDATE checkpoint_blobs
               SET blob = convert_to(replace(convert_from(blob, 'UTF8'),
                   '"id":["langchain_core","messages",', '"id":["langchain","schema","messages",'), 'UTF8')
               WHERE thread_id = $1 AND channel = 'messages'"#,
            &[&ada.thread_id],
        )
        .unwrap();
    assert_eq!(aged, 2);
    let refused = js.run_failing(&["read-thread", db.url(), &ada.thread_id, "--stock"]);
    assert!(
        refused.contains(r#"Invalid namespace: $ -> {"id":["langchain","schema","messages","HumanMessage"]"#),
        "{refused}"
    );
    assert_eq!(history(&db, &ada), expected, "the app reads the old ids");

    // The app's next turn rewrites the old ids of every checkpoint: JS lists the whole thread.
    let turn = chat(&db, &ada, "I live alone");
    expected.push(("human".into(), "I live alone".into()));
    expected.push(("ai".into(), turn["reply"].as_str().unwrap().to_string()));
    let read = js.run(&["read-thread", db.url(), &ada.thread_id, "--stock"]);
    assert_eq!(messages_read(&read), expected);
    assert_linear_chain(&read, 3);
    let per_checkpoint: Vec<i64> =
        read["checkpoints"].as_array().unwrap().iter().map(|c| c["message_count"].as_i64().unwrap()).collect();
    assert_eq!(per_checkpoint, [6, 4, 2], "every checkpoint's messages load, not only the latest");
}
