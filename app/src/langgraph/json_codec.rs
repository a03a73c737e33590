//! LangChain's JSON form of messages (`{"lc":1,"type":"constructor",...}`): what a `json`
//! blob holds, and what LangChain's `Reviver` loads back as message objects.

use serde_json::{json, Map, Value};

use super::messages::{langchain_class, role_of_class, ChatMessage, Role};

/// Reads a `json` blob's value: it must be a list of entries.
pub(super) fn decode_list(value: Value) -> Result<Vec<Value>, String> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(format!("expected a list of messages, found {}", kind(&other))),
    }
}

/// Reads one entry: LangChain's `{"lc":1,"type":"constructor",...}` form, or LangGraph's own
/// `{"lc":2,...}` constructor form; anything else becomes an unsupported placeholder.
pub(super) fn decode_message(item: &Value) -> ChatMessage {
    let path: Option<Vec<&str>> =
        item.get("id").and_then(Value::as_array).and_then(|ids| ids.iter().map(Value::as_str).collect());
    let is_constructor = item.get("type").and_then(Value::as_str) == Some("constructor");
    let (Some(path), true) = (path, is_constructor) else {
        return ChatMessage::unsupported(&format!("json {}", kind(item)));
    };
    let Some((class, module)) = path.split_last() else {
        return ChatMessage::unsupported("json constructor without id");
    };
    let module = module.join(".");
    let from_langchain =
        module == "langchain" || module.starts_with("langchain.") || module.starts_with("langchain_core");
    match (role_of_class(class), from_langchain) {
        (Some(role), true) => {
            let kwargs = item.get("kwargs").cloned().unwrap_or(Value::Null);
            ChatMessage {
                role,
                content: content(kwargs.get("content")),
                id: kwargs.get("id").and_then(Value::as_str).map(str::to_string),
            }
        }
        _ => ChatMessage::unsupported(&format!("{module}.{class}")),
    }
}

/// Flattens LangChain content (a string, or a list of blocks) to text.
fn content(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .map(|b| match b {
                Value::String(s) => s.clone(),
                Value::Object(o) => {
                    match (o.get("type").and_then(Value::as_str), o.get("text").and_then(Value::as_str)) {
                        (_, Some(text)) => text.to_string(),
                        (Some(kind), None) => format!("[unsupported {kind} block]"),
                        (None, None) => "[unsupported block]".to_string(),
                    }
                }
                other => format!("[unsupported {} block]", kind(other)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Encodes a message in LangChain's constructor form under the `langchain_core` namespace, the one
/// form every LangGraph loads: Python's `Reviver` imports `langchain_core.messages`, and
/// LangChain.js's `load` accepts only `langchain_core` ids, refusing the `langchain.schema.messages`
/// alias Python's `to_json()` still writes ("Invalid namespace").
pub(super) fn encode_message(message: &ChatMessage) -> Result<Value, String> {
    let (_, class) = langchain_class(message.role)?;
    let mut kwargs = Map::new();
    kwargs.insert("content".into(), Value::String(message.content.clone()));
    kwargs.insert("type".into(), Value::String(message.role.as_str().into()));
    if let Some(id) = &message.id {
        kwargs.insert("id".into(), Value::String(id.clone()));
    }
    if message.role == Role::Ai {
        kwargs.insert("tool_calls".into(), json!([]));
        kwargs.insert("invalid_tool_calls".into(), json!([]));
    }
    Ok(json!({
        "lc": 1,
        "type": "constructor",
        "id": ["langchain_core", "messages", class],
        "kwargs": kwargs,
    }))
}

/// Rewrites a message's id from the `langchain.schema.messages` alias (what the app wrote before,
/// and Python's `to_json()` still writes) to `langchain_core.messages`, which names the same class
/// for Python and is the only form LangChain.js loads; anything else is left as it is.
pub(super) fn upgrade_namespace(item: &mut Value) {
    if item.get("type").and_then(Value::as_str) != Some("constructor") {
        return;
    }
    let Some(id) = item.get_mut("id").and_then(Value::as_array_mut) else { return };
    let is_alias = id.len() == 4 && id[..3] == [json!("langchain"), json!("schema"), json!("messages")];
    let is_message =
        id.get(3).and_then(Value::as_str).is_some_and(|c| c.ends_with("Message") || c.ends_with("MessageChunk"));
    if is_alias && is_message {
        id.splice(..3, [json!("langchain_core"), json!("messages")]);
    }
}

/// Names a JSON value's kind, for messages.
pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_messages_round_trip() {
        let m = ChatMessage { role: Role::Ai, content: "Next: stairs".into(), id: Some("x".into()) };
        let encoded = encode_message(&m).unwrap();
        assert_eq!(encoded["id"], json!(["langchain_core", "messages", "AIMessage"]));
        assert_eq!(encoded["kwargs"]["type"], "ai");
        assert_eq!(decode_message(&encoded), m);
    }

    #[test]
    fn the_old_alias_is_rewritten_and_nothing_else() {
        let mut old = json!({"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"],
                             "kwargs": {"content": "hi", "id": "h-1"}});
        upgrade_namespace(&mut old);
        assert_eq!(old["id"], json!(["langchain_core", "messages", "HumanMessage"]));
        assert_eq!(old["kwargs"], json!({"content": "hi", "id": "h-1"}), "only the id changes");
        for untouched in [
            json!({"lc": 1, "type": "constructor", "id": ["langchain", "schema", "document", "Document"]}),
            json!({"lc": 1, "type": "constructor", "id": ["my_app", "schema", "messages", "NoteMessage"]}),
            json!({"lc": 1, "type": "secret", "id": ["langchain", "schema", "messages", "HumanMessage"]}),
            json!({"lc": 2, "type": "constructor", "id": ["Set"], "args": [[1]]}),
            json!("just text"),
        ] {
            let mut item = untouched.clone();
            upgrade_namespace(&mut item);
            assert_eq!(item, untouched);
        }
    }

    #[test]
    fn content_blocks_flatten_to_text() {
        let blocks = json!(["a", {"type": "text", "text": "b"}, {"type": "image_url"}, {}, 3]);
        assert_eq!(
            content(Some(&blocks)),
            "a\nb\n[unsupported image_url block]\n[unsupported block]\n[unsupported number block]"
        );
        assert_eq!(decode_list(json!({"a": 1})).unwrap_err(), "expected a list of messages, found object");
    }
}
