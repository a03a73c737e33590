//! The `messages` channel as stored in `checkpoint_blobs`: decoded from any blob type Python
//! reads, and re-encoded in the blob's own format so appending loses nothing.
//!
//! A messages blob is `json` (LangChain's serialized form, what the app writes on a new thread) or
//! `msgpack` (what Python writes). Entries the app cannot show are carried over untouched.

use serde_json::Value;

use super::messages::ChatMessage;
use super::{json_codec, msgpack_codec};
use crate::{Error, Result};

/// The messages channel as stored, kept in its own format so appending loses nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredMessages {
    /// A `json` blob: LangChain-serialized messages.
    Json(Vec<Value>),
    /// A `msgpack` blob: LangGraph's msgpack encoding.
    Msgpack(Vec<rmpv::Value>),
    /// Something that is not a list of messages (raw bytes, an unknown blob type), described.
    Opaque(String),
}

impl StoredMessages {
    /// Returns how many entries the channel holds.
    pub fn len(&self) -> usize {
        match self {
            StoredMessages::Json(items) => items.len(),
            StoredMessages::Msgpack(items) => items.len(),
            StoredMessages::Opaque(_) => 1,
        }
    }

    /// Returns whether the channel holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the entries as messages; entries this module cannot read become placeholders.
    pub fn to_messages(&self) -> Vec<ChatMessage> {
        match self {
            StoredMessages::Json(items) => items.iter().map(json_codec::decode_message).collect(),
            StoredMessages::Msgpack(items) => items.iter().map(msgpack_codec::decode_message).collect(),
            StoredMessages::Opaque(what) => vec![ChatMessage::unsupported(what)],
        }
    }

    /// Appends a message in the channel's own format; an opaque channel refuses it.
    pub(super) fn push(&mut self, message: &ChatMessage) -> std::result::Result<(), String> {
        match self {
            StoredMessages::Json(items) => items.push(json_codec::encode_message(message)?),
            StoredMessages::Msgpack(items) => items.push(msgpack_codec::encode_message(message)?),
            StoredMessages::Opaque(what) => {
                return Err(format!("the channel holds {what}, not a list of messages; refusing to overwrite it"))
            }
        }
        Ok(())
    }

    /// Returns the blob's `type` and bytes.
    pub(super) fn encode(&self) -> std::result::Result<(&'static str, Vec<u8>), String> {
        match self {
            StoredMessages::Json(items) => {
                // Entries written with the old id alias are rewritten so LangChain.js can load the thread.
                let mut items = items.clone();
                items.iter_mut().for_each(json_codec::upgrade_namespace);
                Ok(("json", serde_json::to_vec(&items).map_err(|e| e.to_string())?))
            }
            StoredMessages::Msgpack(items) => Ok(("msgpack", msgpack_codec::encode_list(items)?)),
            StoredMessages::Opaque(what) => Err(format!("cannot write {what} as messages")),
        }
    }
}

/// Decodes a messages blob of any type Python reads; `None` means an empty channel.
///
/// Unknown message classes and extension types come back as `Role::Unsupported` entries; bytes
/// that do not decode are an [`Error::Payload`] naming the thread and channel.
pub fn decode_blob(
    thread_id: &str,
    channel: &str,
    blob_type: &str,
    blob: Option<&[u8]>,
) -> Result<Option<StoredMessages>> {
    let bytes = blob.unwrap_or_default();
    let decoded = match blob_type {
        "empty" | "null" => return Ok(None),
        "json" => serde_json::from_slice::<Value>(bytes)
            .map_err(|e| format!("json blob does not parse: {e}"))
            .and_then(decode_json_value),
        "msgpack" => msgpack_codec::decode_list(bytes).map(StoredMessages::Msgpack),
        // Raw bytes in a messages channel are not messages; show them, keep them.
        "bytes" | "bytearray" => Ok(StoredMessages::Opaque(format!("builtins.{blob_type}"))),
        other => Ok(StoredMessages::Opaque(format!("blob type {other:?}"))),
    };
    decoded.map(Some).map_err(|message| payload(thread_id, channel, message))
}

/// Returns a `json` messages blob with the old `langchain.schema.messages` ids rewritten to
/// `langchain_core.messages`, or `None` when it holds none (or is not a list: left as it is).
pub(super) fn upgrade_json_blob(bytes: &[u8]) -> Option<Vec<u8>> {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(bytes) else { return None };
    let mut upgraded = items.clone();
    upgraded.iter_mut().for_each(json_codec::upgrade_namespace);
    if upgraded == items {
        return None;
    }
    serde_json::to_vec(&upgraded).ok()
}

/// Reads a channel value stored inline in the checkpoint (or a parsed `json` blob).
pub(super) fn decode_json_value(value: Value) -> std::result::Result<StoredMessages, String> {
    json_codec::decode_list(value).map(StoredMessages::Json)
}

/// Returns the error for a channel whose stored value cannot be read or written.
pub(super) fn payload(thread_id: &str, channel: &str, message: String) -> Error {
    Error::Payload { thread_id: thread_id.to_string(), channel: channel.to_string(), message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::langgraph::messages::Role;
    use rmpv::Value as M;

    /// Builds a message the way Python's `_msgpack_default` does for a pydantic v2 model.
    fn python_msgpack_message(module: &str, class: &str, content: &str, id: &str) -> M {
        let fields = M::Map(vec![
            (M::from("content"), M::from(content)),
            (M::from("additional_kwargs"), M::Map(vec![])),
            (M::from("response_metadata"), M::Map(vec![])),
            (M::from("type"), M::from("human")),
            (M::from("name"), M::Nil),
            (M::from("id"), M::from(id)),
            (M::from("example"), M::Boolean(false)),
        ]);
        let inner = M::Array(vec![M::from(module), M::from(class), fields, M::from("model_validate_json")]);
        M::Ext(5, pack(&inner))
    }

    fn pack(v: &M) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, v).unwrap();
        out
    }

    #[test]
    fn decodes_a_langchain_json_blob() {
        let blob = br#"[
            {"lc":1,"type":"constructor","id":["langchain","schema","messages","HumanMessage"],
             "kwargs":{"content":"My knee hurts on stairs","type":"human","id":"h-1"}},
            {"lc":1,"type":"constructor","id":["langchain","schema","messages","AIMessage"],
             "kwargs":{"content":[{"type":"text","text":"Tell me more."}],"type":"ai","id":"a-1","tool_calls":[]}},
            {"lc":1,"type":"constructor","id":["my_app","models","Widget"],"kwargs":{}}
        ]"#;
        let messages = decode_blob("t", "messages", "json", Some(blob)).unwrap().unwrap().to_messages();
        assert_eq!(
            messages,
            vec![
                ChatMessage { role: Role::Human, content: "My knee hurts on stairs".into(), id: Some("h-1".into()) },
                ChatMessage { role: Role::Ai, content: "Tell me more.".into(), id: Some("a-1".into()) },
                ChatMessage { role: Role::Unsupported, content: "[unsupported my_app.models.Widget]".into(), id: None },
            ]
        );
    }

    #[test]
    fn decodes_a_python_msgpack_blob() {
        let unknown = {
            let inner = M::Array(vec![
                M::from("mypkg.things"),
                M::from("Gadget"),
                M::Map(vec![]),
                M::from("model_validate_json"),
            ]);
            M::Ext(5, pack(&inner))
        };
        let list = M::Array(vec![
            python_msgpack_message("langchain_core.messages.human", "HumanMessage", "I walk every day", "h-9"),
            python_msgpack_message("langchain_core.messages.ai", "AIMessage", "Good to hear.", "a-9"),
            unknown,
            M::Ext(1, pack(&M::Array(vec![M::from("pathlib"), M::from("PosixPath"), M::Array(vec![])]))),
        ]);
        let messages = decode_blob("t", "messages", "msgpack", Some(&pack(&list))).unwrap().unwrap().to_messages();
        assert_eq!(
            messages[0],
            ChatMessage { role: Role::Human, content: "I walk every day".into(), id: Some("h-9".into()) }
        );
        assert_eq!(
            messages[1],
            ChatMessage { role: Role::Ai, content: "Good to hear.".into(), id: Some("a-9".into()) }
        );
        assert_eq!(messages[2].content, "[unsupported mypkg.things.Gadget]");
        assert_eq!(messages[3].content, "[unsupported pathlib.PosixPath]");
        assert_eq!(messages[3].role, Role::Unsupported);
    }

    #[test]
    fn appends_in_the_blobs_own_format_without_losing_entries() {
        let list = M::Array(vec![
            python_msgpack_message("langchain_core.messages.human", "HumanMessage", "hi", "h-1"),
            M::Ext(42, vec![1, 2, 3]),
        ]);
        let mut stored = decode_blob("t", "messages", "msgpack", Some(&pack(&list))).unwrap().unwrap();
        stored.push(&ChatMessage { role: Role::Ai, content: "hello".into(), id: Some("a-1".into()) }).unwrap();
        let (kind, bytes) = stored.encode().unwrap();
        assert_eq!(kind, "msgpack");
        let again = decode_blob("t", "messages", "msgpack", Some(&bytes)).unwrap().unwrap();
        let StoredMessages::Msgpack(items) = &again else { panic!("expected msgpack") };
        assert_eq!(items[1], M::Ext(42, vec![1, 2, 3]), "unknown entries are carried over byte for byte");
        let messages = again.to_messages();
        assert_eq!(messages[1].content, "[unsupported msgpack extension 42]");
        assert_eq!(messages[2], ChatMessage { role: Role::Ai, content: "hello".into(), id: Some("a-1".into()) });
    }

    #[test]
    fn malformed_blobs_are_payload_errors_naming_thread_and_channel() {
        for (kind, bytes) in [
            ("json", &b"{not json"[..]),
            ("json", b"{\"a\":1}"),
            ("msgpack", &[0xc1][..]),
            ("msgpack", &[0x92, 0x01][..]),
        ] {
            match decode_blob("thread-7", "messages", kind, Some(bytes)) {
                Err(Error::Payload { thread_id, channel, message }) => {
                    assert_eq!((thread_id.as_str(), channel.as_str()), ("thread-7", "messages"));
                    assert!(!message.is_empty());
                }
                other => panic!("{kind} {bytes:?}: expected a payload error, got {other:?}"),
            }
        }
        let err = decode_blob("thread-7", "messages", "msgpack", Some(&[0x90, 0x90])).unwrap_err().to_string();
        assert!(err.contains("thread thread-7, channel messages"), "{err}");
    }

    #[test]
    fn old_message_ids_in_a_stored_blob_are_upgraded_and_nothing_else_is_rewritten() {
        let old = br#"[{"lc":1,"type":"constructor","id":["langchain","schema","messages","HumanMessage"],"kwargs":{"content":"hi"}},{"x":1}]"#;
        let upgraded: Value = serde_json::from_slice(&upgrade_json_blob(old).unwrap()).unwrap();
        assert_eq!(upgraded[0]["id"], serde_json::json!(["langchain_core", "messages", "HumanMessage"]));
        assert_eq!(upgraded[1], serde_json::json!({"x": 1}));
        let current =
            br#"[{"lc":1,"type":"constructor","id":["langchain_core","messages","HumanMessage"],"kwargs":{}}]"#;
        assert_eq!(upgrade_json_blob(current), None, "a blob without old ids is not rewritten");
        assert_eq!(upgrade_json_blob(b"{not json"), None);
        assert_eq!(upgrade_json_blob(br#"{"messages": []}"#), None);
    }

    #[test]
    fn empty_null_and_bytes_blobs_do_not_fail() {
        assert_eq!(decode_blob("t", "messages", "null", None).unwrap(), None);
        assert_eq!(decode_blob("t", "messages", "empty", None).unwrap(), None);
        let mut bytes = decode_blob("t", "messages", "bytes", Some(b"\x00\x01")).unwrap().unwrap();
        assert_eq!(bytes.to_messages()[0].content, "[unsupported builtins.bytes]");
        let refused = bytes.push(&ChatMessage::human("hi")).unwrap_err();
        assert!(refused.contains("refusing to overwrite"), "{refused}");
    }
}
