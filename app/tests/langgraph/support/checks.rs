//! What Python or JavaScript read, as the tests compare it: messages, the checkpoint chain, ids
//! and versions.

use serde_json::{json, Value};

/// Returns the messages a library read (Python's or JavaScript's) as (type, content) pairs.
pub fn messages_read(read: &Value) -> Vec<(String, String)> {
    read["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap_or("<not a message>").to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Returns owned (role, content) pairs, to compare with what a side read.
pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Returns the checkpoints `list()` gave (newest first) as (id, step) pairs.
pub fn listed_checkpoints(read: &Value) -> Vec<(String, i64)> {
    read["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .map(|c| (c["id"].as_str().expect("checkpoint id").to_string(), c["step"].as_i64().expect("step")))
        .collect()
}

/// Asserts that `list()` walked one parent chain covering every checkpoint, in id order.
pub fn assert_linear_chain(read: &Value, expected_len: usize) {
    let listed: Vec<String> = listed_checkpoints(read).into_iter().map(|(id, _)| id).collect();
    let chain: Vec<String> = serde_json::from_value(read["chain"].clone()).expect("chain");
    assert_eq!(read["chain_complete"], json!(true), "the parent chain is broken: {:#}", read["checkpoints"]);
    assert_eq!(listed.len(), expected_len, "checkpoints listed: {listed:?}");
    assert_eq!(chain, listed, "walking parents from the newest must visit checkpoints in id order");
}

/// Asserts a checkpoint id is a UUIDv6 whose clock sequence is its step, as LangGraph's are.
pub fn assert_langgraph_id(id: &str, step: i64) {
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(&id[14..15], "6", "checkpoint id {id} is not a UUIDv6");
    let clock_seq = u16::from_str_radix(&id[19..23], 16).expect("hex") & 0x3FFF;
    assert_eq!(i64::from(clock_seq), step & 0x3FFF, "checkpoint id {id}: clock sequence must be the step ({step})");
}

/// Asserts channel versions look like `PostgresSaver.get_next_version`'s and returns their counters.
pub fn version_counters(read: &Value, channel: &str) -> Vec<u64> {
    read["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .filter_map(|c| c["channel_versions"].get(channel))
        .map(|v| {
            let v = v.as_str().unwrap_or_else(|| panic!("channel version {v} is not a string"));
            let (counter, fraction) = v.split_at(32.min(v.len()));
            assert!(
                counter.len() == 32 && counter.bytes().all(|b| b.is_ascii_digit()),
                "version {v}: expected 32 digits first"
            );
            let fraction =
                fraction.strip_prefix('.').unwrap_or_else(|| panic!("version {v}: expected '.' after the counter"));
            assert!(fraction.len() >= 16, "version {v}: the random part is padded to 16 characters");
            let x: f64 = fraction.parse().unwrap_or_else(|_| panic!("version {v}: the random part is not a float"));
            assert!((0.0..1.0).contains(&x), "version {v}: the random part is in [0, 1)");
            counter.parse().expect("counter")
        })
        .collect()
}

/// Returns the kinds of every channel version of every listed checkpoint: `"number"` (what
/// LangGraph.js writes), `"string"` (Python's), or what else was found.
pub fn version_kinds(read: &Value) -> std::collections::BTreeSet<&'static str> {
    read["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .flat_map(|c| c["channel_versions"].as_object().expect("channel_versions").values())
        .map(|v| match v {
            Value::Number(_) => "number",
            Value::String(_) => "string",
            _ => "other",
        })
        .collect()
}
