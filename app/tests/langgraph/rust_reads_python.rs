//! The app reads a thread and store items Python wrote, and adds to them without losing what it
//! cannot show.

use app::langgraph::store;
use devdb::test_database;
use serde_json::{json, Value};

use crate::support::checks::{assert_linear_chain, listed_checkpoints, messages_read, pairs};
use crate::support::python::Python;
use crate::support::sdm::{chat, history, onboard, sdm, sdm_text};

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn the_app_reads_a_thread_python_wrote_and_adds_to_it() {
    let python = Python::find();
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");

    // The team's Python agent runs the conversation's thread.
    let written = python.run(&["write-thread", db.url(), &ada.thread_id]);
    assert_eq!(written["messages"].as_array().unwrap().len(), 5);

    let shown = history(&db, &ada);
    assert_eq!(
        shown,
        pairs(&[
            ("human", "My knee hurts when I climb stairs."),
            ("ai", "Let me look up the options for your journey."),
            ("tool", "physio, injection, surgery"),
            ("unsupported", "[unsupported __main__.ClinicianNote]"),
            ("ai", "Physiotherapy is a good first option for you."),
        ]),
        "msgpack messages decode; a class the app does not know is shown as such"
    );
    let text = sdm_text(&db, &["history", "--conversation", &ada.conversation()]);
    assert!(text.contains("human: My knee hurts when I climb stairs."), "{text}");
    assert!(text.contains("[unsupported __main__.ClinicianNote]"), "{text}");
    let ids: Vec<Value> = sdm(&db, &["history", "--conversation", &ada.conversation()])["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    let python_ids: Vec<Value> = written["messages"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(&ids[..3], &python_ids[..3], "message ids come through");

    // The app adds a turn; Python still reads its own types, and the app's messages, in order.
    let turn = chat(&db, &ada, "I want to be able to garden again");
    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);
    let classes: Vec<&str> =
        read["messages"].as_array().unwrap().iter().map(|m| m["class"].as_str().unwrap()).collect();
    assert_eq!(
        classes,
        [
            "langchain_core.messages.human.HumanMessage",
            "langchain_core.messages.ai.AIMessage",
            "langchain_core.messages.tool.ToolMessage",
            "__main__.ClinicianNote",
            "langchain_core.messages.ai.AIMessage",
            "langchain_core.messages.human.HumanMessage",
            "langchain_core.messages.ai.AIMessage",
        ]
    );
    let messages = messages_read(&read);
    assert_eq!(messages[5], ("human".into(), "I want to be able to garden again".into()));
    assert_eq!(messages[6], ("ai".into(), turn["reply"].as_str().unwrap().to_string()));
    assert_eq!(
        read["messages"][1]["tool_calls"][0]["id"],
        json!("call_options_1"),
        "the tool call survives the app's write"
    );
    assert_eq!(read["channels"]["care_plan"], json!("__main__.CarePlan"), "channels the app does not use are kept");
    let total = listed_checkpoints(&read).len();
    assert_linear_chain(&read, total);
    assert_eq!(history(&db, &ada).len(), 7);
}

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn store_items_read_back_on_the_other_side() {
    let python = Python::find();
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let namespace = store::user_memories(ada.user_id);
    let mut client = db.connect();

    // Python writes, Rust reads.
    let put =
        python.run(&["store-put", db.url(), &ada.memories(), "from-python", r#"{"text": "walks the dog", "n": 2}"#]);
    assert_eq!(put["item"]["namespace"], json!(["users", ada.user_id.to_string(), "memories"]));
    let item = store::get(&mut client, &namespace, "from-python").unwrap().expect("the item Python wrote");
    assert_eq!(item.value, json!({"text": "walks the dog", "n": 2}));
    assert_eq!(item.namespace, namespace);

    // Rust writes (directly, and through a chat turn's memory), Python reads.
    store::put(&mut client, &namespace, "from-rust", &json!({"text": "prefers tablets", "tags": ["a", "b"]})).unwrap();
    let got = python.run(&["store-get", db.url(), &ada.memories(), "from-rust"]);
    assert_eq!(got["item"]["value"], json!({"text": "prefers tablets", "tags": ["a", "b"]}));
    assert_eq!(got["item"]["namespace"], json!(["users", ada.user_id.to_string(), "memories"]));
    let turn = chat(&db, &ada, "Climbing stairs is the hardest part");
    let memory_key = turn["memory_key"].as_str().expect("the chat turn stored a memory");

    let found = python.run(&["store-search", db.url(), &format!("users.{}", ada.user_id)]);
    let mut keys: Vec<&str> = found["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    keys.sort();
    let mut expected = vec!["from-python", "from-rust", memory_key];
    expected.sort();
    assert_eq!(keys, expected);
    let memory = found["items"].as_array().unwrap().iter().find(|i| i["key"] == json!(memory_key)).unwrap();
    assert_eq!(memory["value"]["statement"], json!("Climbing stairs is the hardest part"));
    assert_eq!(memory["value"]["conversation_id"], json!(ada.conversation_id));

    // Rust searching the namespace sees all three, Python's included.
    let mut rust_keys: Vec<String> =
        store::search(&mut client, &namespace).unwrap().into_iter().map(|i| i.key).collect();
    rust_keys.sort();
    assert_eq!(rust_keys, expected);
    assert_eq!(python.run(&["store-get", db.url(), &ada.memories(), "nothing-here"])["item"], Value::Null);
}
