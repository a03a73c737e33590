//! Chat history in LangGraph's checkpoint tables, in the format langgraph-checkpoint-postgres writes.
//!
//! A conversation is a LangGraph thread (`thread_id`, namespace `''`). Each chat turn adds one
//! `checkpoints` row whose parent is the thread's previous checkpoint, and one `checkpoint_blobs`
//! row holding the whole `messages` channel at its new version, exactly as `PostgresSaver.put()`
//! lays them out:
//!
//! - `checkpoint_id` is a UUIDv6 string (time-ordered, compared as text), `type` is NULL;
//! - `checkpoint` is `{"v":4,"id","ts","channel_values","channel_versions","versions_seen",
//!   "updated_channels"}`; primitive channel values stay inline, lists go to `checkpoint_blobs`;
//! - channel versions are `"{n:032}.{random:016}"`, as `PostgresSaver.get_next_version` makes;
//! - the messages blob is a list of LangChain messages, either `json` (LangChain's serialized form,
//!   what this module writes on a new thread) or `msgpack` (what Python writes: extension 5,
//!   `[module, class, fields, "model_validate_json"]`). A turn appends in the blob's own format,
//!   so messages this module cannot show are carried over untouched.

use std::time::{SystemTime, UNIX_EPOCH};

use postgres::GenericClient;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::{Error, Result};

/// The LangGraph channel that holds a thread's messages (`add_messages` state key).
pub const MESSAGES_CHANNEL: &str = "messages";
/// The LangGraph channel a graph's input goes through.
pub const START_CHANNEL: &str = "__start__";
/// The pseudo-node LangGraph records graph input under in `versions_seen`.
const INPUT_NODE: &str = "__input__";
/// The checkpoint namespace of a root graph.
pub const ROOT_NAMESPACE: &str = "";
/// The checkpoint format version langgraph-checkpoint 3.x writes.
pub const CHECKPOINT_FORMAT: i64 = 4;

/// msgpack extension code of a pydantic v2 model in LangGraph's serializer.
const EXT_PYDANTIC_V2: i8 = 5;
/// msgpack extension code of a pydantic v1 model in LangGraph's serializer.
const EXT_PYDANTIC_V1: i8 = 4;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user (LangChain `HumanMessage`).
    Human,
    /// The assistant (LangChain `AIMessage`).
    Ai,
    /// A system prompt (LangChain `SystemMessage`).
    System,
    /// A tool result (LangChain `ToolMessage`).
    Tool,
    /// Something stored in the channel that is not a message this module knows.
    Unsupported,
}

impl Role {
    /// Returns the role's name as LangChain's `type` field spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Human => "human",
            Role::Ai => "ai",
            Role::System => "system",
            Role::Tool => "tool",
            Role::Unsupported => "unsupported",
        }
    }
}

/// One message of a thread's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub role: Role,
    /// The text; for an unsupported entry, `[unsupported <module>.<class>]`.
    pub content: String,
    /// LangChain's message id (a UUID for messages written here).
    pub id: Option<String>,
}

impl ChatMessage {
    /// Creates a user message with a fresh id.
    pub fn human(content: &str) -> Result<ChatMessage> {
        Ok(ChatMessage { role: Role::Human, content: content.to_string(), id: Some(random_uuid()?) })
    }

    /// Creates an assistant message with a fresh id.
    pub fn ai(content: &str) -> Result<ChatMessage> {
        Ok(ChatMessage { role: Role::Ai, content: content.to_string(), id: Some(random_uuid()?) })
    }

    fn unsupported(what: &str) -> ChatMessage {
        ChatMessage { role: Role::Unsupported, content: format!("[unsupported {what}]"), id: None }
    }
}

/// What one call to [`append_messages`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SavedCheckpoint {
    pub thread_id: String,
    pub checkpoint_id: String,
    pub parent_checkpoint_id: Option<String>,
    /// The `messages` channel version the new blob is stored under.
    pub messages_version: String,
    /// `json` or `msgpack`: the blob format (kept from the thread's previous blob).
    pub blob_type: String,
    pub step: i64,
    /// How many messages the channel holds after the write.
    pub message_count: usize,
}

/// Rows removed by [`delete_thread`], per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ThreadDeletion {
    pub checkpoints: u64,
    pub checkpoint_blobs: u64,
    pub checkpoint_writes: u64,
}

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

/// The latest checkpoint of a thread, as far as this module needs it.
struct Latest {
    id: String,
    checkpoint: Value,
    step: i64,
}

/// Returns a thread's messages, oldest first, from its latest checkpoint (empty for a new thread).
///
/// ```no_run
/// # fn main() -> app::Result<()> {
/// let mut client = app::db::connect("postgres://localhost/sdm")?;
/// for m in app::checkpoint::history(&mut client, "2f1c0b6e-...")? {
///     println!("{}: {}", m.role.as_str(), m.content);
/// }
/// # Ok(()) }
/// ```
pub fn history(client: &mut impl GenericClient, thread_id: &str) -> Result<Vec<ChatMessage>> {
    let Some(latest) = latest_checkpoint(client, thread_id, false)? else {
        return Ok(Vec::new());
    };
    match load_messages(client, thread_id, &latest.checkpoint)? {
        Some(stored) => Ok(stored.to_messages()),
        None => Ok(Vec::new()),
    }
}

/// Appends `messages` to a thread in a new checkpoint whose parent is the thread's latest one.
///
/// Run it inside the caller's transaction: the latest checkpoint is read `FOR UPDATE`, so two
/// turns on one thread queue up instead of forking the parent chain.
pub fn append_messages(
    client: &mut impl GenericClient,
    thread_id: &str,
    messages: &[ChatMessage],
) -> Result<SavedCheckpoint> {
    let latest = latest_checkpoint(client, thread_id, true)?;
    let stored = match &latest {
        Some(l) => load_messages(client, thread_id, &l.checkpoint)?,
        None => None,
    };
    let mut stored = stored.unwrap_or(StoredMessages::Json(Vec::new()));
    for m in messages {
        stored.push(m).map_err(|message| payload(thread_id, MESSAGES_CHANNEL, message))?;
    }
    let (blob_type, blob) = stored.encode().map_err(|message| payload(thread_id, MESSAGES_CHANNEL, message))?;

    let parent = latest.as_ref();
    let step = parent.map_or(1, |p| p.step + 1);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let checkpoint_id = new_checkpoint_id(now, parent.map(|p| p.id.as_str()), step)?;
    let empty = json!({});
    let previous = parent.map_or(&empty, |p| &p.checkpoint);

    // Every channel written in a step gets one new version: the highest so far plus one.
    let mut channel_versions = previous.get("channel_versions").and_then(Value::as_object).cloned().unwrap_or_default();
    let highest = channel_versions.values().filter_map(version_number).max();
    let version = next_channel_version(highest)?;
    channel_versions.insert(START_CHANNEL.into(), Value::String(version.clone()));
    channel_versions.insert(MESSAGES_CHANNEL.into(), Value::String(version.clone()));

    let mut versions_seen = previous.get("versions_seen").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut start_seen = versions_seen.get(START_CHANNEL).and_then(Value::as_object).cloned().unwrap_or_default();
    start_seen.insert(START_CHANNEL.into(), Value::String(version.clone()));
    versions_seen.insert(START_CHANNEL.into(), Value::Object(start_seen));
    // Python's checkpoints always carry the input pseudo-node's (empty) entry.
    versions_seen.entry(INPUT_NODE).or_insert_with(|| json!({}));

    // Inline (primitive) values of other channels stay as they were; messages live in the blob.
    let mut channel_values = previous.get("channel_values").and_then(Value::as_object).cloned().unwrap_or_default();
    channel_values.remove(MESSAGES_CHANNEL);
    channel_values.remove(START_CHANNEL);

    let checkpoint = json!({
        "v": CHECKPOINT_FORMAT,
        "id": checkpoint_id,
        "ts": iso_timestamp(now),
        "channel_values": channel_values,
        "channel_versions": channel_versions,
        "versions_seen": versions_seen,
        "updated_channels": [MESSAGES_CHANNEL],
    });
    let metadata = json!({ "source": "loop", "step": step, "parents": {} });

    client.execute(
        "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING",
        &[&thread_id, &ROOT_NAMESPACE, &MESSAGES_CHANNEL, &version, &blob_type, &blob],
    )?;
    let parent_id = parent.map(|p| p.id.clone());
    client.execute(
        "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&thread_id, &ROOT_NAMESPACE, &checkpoint_id, &parent_id, &checkpoint, &metadata],
    )?;
    Ok(SavedCheckpoint {
        thread_id: thread_id.to_string(),
        checkpoint_id,
        parent_checkpoint_id: parent_id,
        messages_version: version,
        blob_type: blob_type.to_string(),
        step,
        message_count: stored.len(),
    })
}

/// Deletes every checkpoint row of a thread (all namespaces) from the three checkpoint tables.
pub fn delete_thread(client: &mut impl GenericClient, thread_id: &str) -> Result<ThreadDeletion> {
    Ok(ThreadDeletion {
        checkpoint_writes: client.execute("DELETE FROM checkpoint_writes WHERE thread_id = $1", &[&thread_id])?,
        checkpoint_blobs: client.execute("DELETE FROM checkpoint_blobs WHERE thread_id = $1", &[&thread_id])?,
        checkpoints: client.execute("DELETE FROM checkpoints WHERE thread_id = $1", &[&thread_id])?,
    })
}

fn latest_checkpoint(client: &mut impl GenericClient, thread_id: &str, lock: bool) -> Result<Option<Latest>> {
    let sql = format!(
        "SELECT checkpoint_id, checkpoint, metadata FROM checkpoints
         WHERE thread_id = $1 AND checkpoint_ns = $2 ORDER BY checkpoint_id DESC LIMIT 1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let Some(row) = client.query_opt(&sql, &[&thread_id, &ROOT_NAMESPACE])? else {
        return Ok(None);
    };
    let metadata: Value = row.get(2);
    Ok(Some(Latest {
        id: row.get(0),
        checkpoint: row.get(1),
        step: metadata.get("step").and_then(Value::as_i64).unwrap_or(0),
    }))
}

/// Loads the messages channel a checkpoint points at: its blob, or an inline value.
fn load_messages(
    client: &mut impl GenericClient,
    thread_id: &str,
    checkpoint: &Value,
) -> Result<Option<StoredMessages>> {
    if let Some(inline) = checkpoint.pointer("/channel_values/messages") {
        return decode_json_value(inline.clone()).map(Some).map_err(|m| payload(thread_id, MESSAGES_CHANNEL, m));
    }
    let version = match checkpoint.pointer("/channel_versions/messages") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let row = client.query_opt(
        "SELECT type, blob FROM checkpoint_blobs
         WHERE thread_id = $1 AND checkpoint_ns = $2 AND channel = $3 AND version = $4",
        &[&thread_id, &ROOT_NAMESPACE, &MESSAGES_CHANNEL, &version],
    )?;
    let Some(row) = row else { return Ok(None) };
    let blob_type: String = row.get(0);
    let blob: Option<Vec<u8>> = row.get(1);
    decode_blob(thread_id, MESSAGES_CHANNEL, &blob_type, blob.as_deref())
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
        "msgpack" => decode_msgpack(bytes),
        // Raw bytes in a messages channel are not messages; show them, keep them.
        "bytes" | "bytearray" => Ok(StoredMessages::Opaque(format!("builtins.{blob_type}"))),
        other => Ok(StoredMessages::Opaque(format!("blob type {other:?}"))),
    };
    decoded.map(Some).map_err(|message| payload(thread_id, channel, message))
}

fn decode_json_value(value: Value) -> std::result::Result<StoredMessages, String> {
    match value {
        Value::Array(items) => Ok(StoredMessages::Json(items)),
        other => Err(format!("expected a list of messages, found {}", json_kind(&other))),
    }
}

fn decode_msgpack(bytes: &[u8]) -> std::result::Result<StoredMessages, String> {
    let mut reader = bytes;
    let value = rmpv::decode::read_value(&mut reader).map_err(|e| format!("msgpack blob does not decode: {e}"))?;
    if !reader.is_empty() {
        return Err(format!("msgpack blob has {} bytes after its value", reader.len()));
    }
    match value {
        rmpv::Value::Array(items) => Ok(StoredMessages::Msgpack(items)),
        other => Err(format!("expected a list of messages, found msgpack {}", msgpack_kind(&other))),
    }
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

    /// Whether the channel holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the entries as messages; entries this module cannot read become placeholders.
    pub fn to_messages(&self) -> Vec<ChatMessage> {
        match self {
            StoredMessages::Json(items) => items.iter().map(json_message).collect(),
            StoredMessages::Msgpack(items) => items.iter().map(msgpack_message).collect(),
            StoredMessages::Opaque(what) => vec![ChatMessage::unsupported(what)],
        }
    }

    fn push(&mut self, message: &ChatMessage) -> std::result::Result<(), String> {
        match self {
            StoredMessages::Json(items) => items.push(encode_json_message(message)?),
            StoredMessages::Msgpack(items) => items.push(encode_msgpack_message(message)?),
            StoredMessages::Opaque(what) => {
                return Err(format!("the channel holds {what}, not a list of messages; refusing to overwrite it"))
            }
        }
        Ok(())
    }

    fn encode(&self) -> std::result::Result<(&'static str, Vec<u8>), String> {
        match self {
            StoredMessages::Json(items) => Ok(("json", serde_json::to_vec(items).map_err(|e| e.to_string())?)),
            StoredMessages::Msgpack(items) => {
                let mut out = Vec::new();
                rmpv::encode::write_value(&mut out, &rmpv::Value::Array(items.clone())).map_err(|e| e.to_string())?;
                Ok(("msgpack", out))
            }
            StoredMessages::Opaque(what) => Err(format!("cannot write {what} as messages")),
        }
    }
}

/// LangChain message classes this module reads, by class name.
fn role_of_class(class: &str) -> Option<Role> {
    match class.strip_suffix("Chunk").unwrap_or(class) {
        "HumanMessage" => Some(Role::Human),
        "AIMessage" => Some(Role::Ai),
        "SystemMessage" => Some(Role::System),
        "ToolMessage" => Some(Role::Tool),
        _ => None,
    }
}

/// Reads one entry of a `json` blob: LangChain's `{"lc":1,"type":"constructor",...}` form, or
/// LangGraph's own `{"lc":2,...}` constructor form.
fn json_message(item: &Value) -> ChatMessage {
    let path: Option<Vec<&str>> =
        item.get("id").and_then(Value::as_array).and_then(|ids| ids.iter().map(Value::as_str).collect());
    let is_constructor = item.get("type").and_then(Value::as_str) == Some("constructor");
    let (Some(path), true) = (path, is_constructor) else {
        return ChatMessage::unsupported(&format!("json {}", json_kind(item)));
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
                content: json_content(kwargs.get("content")),
                id: kwargs.get("id").and_then(Value::as_str).map(str::to_string),
            }
        }
        _ => ChatMessage::unsupported(&format!("{module}.{class}")),
    }
}

/// Flattens LangChain content (a string, or a list of blocks) to text.
fn json_content(content: Option<&Value>) -> String {
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
                other => format!("[unsupported {} block]", json_kind(other)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Reads one entry of a `msgpack` blob: extension 5 (or 4) `[module, class, fields, ...]`.
fn msgpack_message(item: &rmpv::Value) -> ChatMessage {
    let rmpv::Value::Ext(code, data) = item else {
        return ChatMessage::unsupported(&format!("msgpack {}", msgpack_kind(item)));
    };
    let mut reader = data.as_slice();
    let parts = match rmpv::decode::read_value(&mut reader) {
        Ok(rmpv::Value::Array(parts)) => parts,
        _ => return ChatMessage::unsupported(&format!("msgpack extension {code}")),
    };
    let module = parts.first().and_then(rmpv::Value::as_str).unwrap_or("?");
    let class = parts.get(1).and_then(rmpv::Value::as_str).unwrap_or("?");
    let known = (*code == EXT_PYDANTIC_V2 || *code == EXT_PYDANTIC_V1) && module.starts_with("langchain_core.messages");
    let (Some(role), true, Some(rmpv::Value::Map(fields))) = (role_of_class(class), known, parts.get(2)) else {
        return ChatMessage::unsupported(&format!("{module}.{class}"));
    };
    let field = |name: &str| fields.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v);
    ChatMessage {
        role,
        content: msgpack_content(field("content")),
        id: field("id").and_then(rmpv::Value::as_str).map(str::to_string),
    }
}

fn msgpack_content(content: Option<&rmpv::Value>) -> String {
    match content {
        Some(rmpv::Value::String(s)) => s.as_str().unwrap_or_default().to_string(),
        Some(rmpv::Value::Array(blocks)) => blocks
            .iter()
            .map(|b| match b {
                rmpv::Value::String(s) => s.as_str().unwrap_or_default().to_string(),
                rmpv::Value::Map(entries) => {
                    let get = |name: &str| {
                        entries.iter().find(|(k, _)| k.as_str() == Some(name)).and_then(|(_, v)| v.as_str())
                    };
                    match (get("text"), get("type")) {
                        (Some(text), _) => text.to_string(),
                        (None, Some(kind)) => format!("[unsupported {kind} block]"),
                        (None, None) => "[unsupported block]".to_string(),
                    }
                }
                other => format!("[unsupported {} block]", msgpack_kind(other)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// LangChain's module and class for a role this module writes.
fn langchain_class(role: Role) -> std::result::Result<(&'static str, &'static str), String> {
    match role {
        Role::Human => Ok(("human", "HumanMessage")),
        Role::Ai => Ok(("ai", "AIMessage")),
        Role::System => Ok(("system", "SystemMessage")),
        Role::Tool | Role::Unsupported => Err(format!("cannot write a {} message", role.as_str())),
    }
}

/// Encodes a message as `Serializable.to_json()` does: what LangChain's `Reviver` loads back.
pub fn encode_json_message(message: &ChatMessage) -> std::result::Result<Value, String> {
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
        "id": ["langchain", "schema", "messages", class],
        "kwargs": kwargs,
    }))
}

/// Encodes a message as LangGraph's msgpack serializer does: extension 5 around
/// `[module, class, model_dump(), "model_validate_json"]`.
pub fn encode_msgpack_message(message: &ChatMessage) -> std::result::Result<rmpv::Value, String> {
    use rmpv::Value as M;
    let (module, class) = langchain_class(message.role)?;
    let mut fields = vec![
        (M::from("content"), M::from(message.content.as_str())),
        (M::from("additional_kwargs"), M::Map(Vec::new())),
        (M::from("response_metadata"), M::Map(Vec::new())),
        (M::from("type"), M::from(message.role.as_str())),
        (M::from("name"), M::Nil),
        (M::from("id"), message.id.as_deref().map_or(M::Nil, M::from)),
    ];
    if message.role == Role::Human {
        fields.push((M::from("example"), M::Boolean(false)));
    }
    if message.role == Role::Ai {
        fields.push((M::from("example"), M::Boolean(false)));
        fields.push((M::from("tool_calls"), M::Array(Vec::new())));
        fields.push((M::from("invalid_tool_calls"), M::Array(Vec::new())));
        fields.push((M::from("usage_metadata"), M::Nil));
    }
    let inner = M::Array(vec![
        M::from(format!("langchain_core.messages.{module}")),
        M::from(class),
        M::Map(fields),
        M::from("model_validate_json"),
    ]);
    let mut data = Vec::new();
    rmpv::encode::write_value(&mut data, &inner).map_err(|e| e.to_string())?;
    Ok(M::Ext(EXT_PYDANTIC_V2, data))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn msgpack_kind(v: &rmpv::Value) -> &'static str {
    match v {
        rmpv::Value::Nil => "nil",
        rmpv::Value::Boolean(_) => "boolean",
        rmpv::Value::Integer(_) | rmpv::Value::F32(_) | rmpv::Value::F64(_) => "number",
        rmpv::Value::String(_) => "string",
        rmpv::Value::Binary(_) => "binary",
        rmpv::Value::Array(_) => "array",
        rmpv::Value::Map(_) => "map",
        rmpv::Value::Ext(..) => "extension",
    }
}

fn payload(thread_id: &str, channel: &str, message: String) -> Error {
    Error::Payload { thread_id: thread_id.to_string(), channel: channel.to_string(), message }
}

/// Returns the integer part of a channel version (`"000…0006.0.1039…"` → 6; ints as they are).
fn version_number(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.split('.').next()?.parse().ok(),
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        _ => None,
    }
}

/// Returns the version after `current` as `PostgresSaver.get_next_version` formats it:
/// `f"{n:032}.{random.random():016}"`.
pub fn next_channel_version(current: Option<u64>) -> Result<String> {
    let n = current.unwrap_or(0) + 1;
    Ok(format!("{n:032}.{}", python_float_016(random_fraction()?)))
}

/// Formats a float in `[1e-4, 1)` as Python's `f"{x:016}"`: shortest round-trip digits, padded.
fn python_float_016(x: f64) -> String {
    format!("{:0>16}", format!("{x}"))
}

/// Returns a random float in `[1e-4, 1)`, where Python and Rust print floats the same way
/// (Python switches to exponent notation below 1e-4).
fn random_fraction() -> Result<f64> {
    loop {
        let x = (random_u64()? >> 11) as f64 / (1u64 << 53) as f64;
        if x >= 1e-4 {
            return Ok(x);
        }
    }
}

/// 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
const UUID_EPOCH_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

/// Returns a UUIDv6 checkpoint id for `now` that sorts (as text) after `after`, as LangGraph's
/// `uuid6(clock_seq=step)` makes them.
pub fn new_checkpoint_id(now: std::time::Duration, after: Option<&str>, step: i64) -> Result<String> {
    let mut timestamp = (now.as_nanos() / 100) as u64 + UUID_EPOCH_OFFSET;
    if let Some(previous) = after.and_then(uuid6_timestamp) {
        // A clock behind the thread's last checkpoint (or another writer's clock) must not reorder it.
        if previous >= timestamp {
            timestamp = previous + 1;
        }
    }
    let id = format_uuid6(timestamp, step as u64 & 0x3FFF, random_u64()? & 0xFFFF_FFFF_FFFF);
    match after {
        Some(previous) if id.as_str() <= previous => Err(Error::Invalid(format!(
            "the latest checkpoint id {previous:?} is not a UUIDv6 this thread can follow; \
             new checkpoint ids must sort after it"
        ))),
        _ => Ok(id),
    }
}

fn format_uuid6(timestamp: u64, clock_seq: u64, node: u64) -> String {
    let mut value: u128 = (((timestamp >> 12) & 0xFFFF_FFFF_FFFF) as u128) << 80;
    value |= ((timestamp & 0x0FFF) as u128) << 64;
    value |= (clock_seq as u128 & 0x3FFF) << 48;
    value |= node as u128 & 0xFFFF_FFFF_FFFF;
    value = (value & !(0xF000u128 << 64)) | (6u128 << 76); // version 6
    value = (value & !(0xC000u128 << 48)) | (0x8000u128 << 48); // RFC 4122 variant
    format_uuid(value)
}

/// Reads the 60-bit timestamp out of a UUIDv6 string; `None` if it is not one.
pub fn uuid6_timestamp(id: &str) -> Option<u64> {
    let value = parse_uuid(id)?;
    if (value >> 76) & 0xF != 6 {
        return None;
    }
    let high = ((value >> 80) & 0xFFFF_FFFF_FFFF) as u64;
    let low = ((value >> 64) & 0x0FFF) as u64;
    Some((high << 12) | low)
}

fn parse_uuid(id: &str) -> Option<u128> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || id.len() != 36 {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

fn format_uuid(value: u128) -> String {
    let hex = format!("{value:032x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Returns a random (version 4) UUID string, used for thread and message ids.
pub fn random_uuid() -> Result<String> {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes)?;
    let mut value = u128::from_be_bytes(bytes);
    value = (value & !(0xF000u128 << 64)) | (4u128 << 76);
    value = (value & !(0xC000u128 << 48)) | (0x8000u128 << 48);
    Ok(format_uuid(value))
}

fn random_u64() -> Result<u64> {
    let mut bytes = [0u8; 8];
    fill_random(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Io {
        path: "the system's random source".into(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Formats a Unix time as Python's `datetime.now(timezone.utc).isoformat()` does.
pub fn iso_timestamp(since_epoch: std::time::Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_micros()
    )
}

/// Converts days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value as M;
    use std::time::Duration;

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
        let mut data = Vec::new();
        rmpv::encode::write_value(&mut data, &inner).unwrap();
        M::Ext(5, data)
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
    fn json_messages_round_trip() {
        let m = ChatMessage { role: Role::Ai, content: "Next: stairs".into(), id: Some("x".into()) };
        let encoded = encode_json_message(&m).unwrap();
        assert_eq!(encoded["id"], json!(["langchain", "schema", "messages", "AIMessage"]));
        assert_eq!(encoded["kwargs"]["type"], "ai");
        assert_eq!(json_message(&encoded), m);
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
    fn empty_null_and_bytes_blobs_do_not_fail() {
        assert_eq!(decode_blob("t", "messages", "null", None).unwrap(), None);
        assert_eq!(decode_blob("t", "messages", "empty", None).unwrap(), None);
        let bytes = decode_blob("t", "messages", "bytes", Some(b"\x00\x01")).unwrap().unwrap().to_messages();
        assert_eq!(bytes[0].content, "[unsupported builtins.bytes]");
    }

    #[test]
    fn checkpoint_ids_are_uuid6_and_sort_after_the_previous_one() {
        // The id from LangGraph's own docs: 2024-07-31, version 6, clock_seq 1.
        let python = "1ef4f797-8335-6428-8001-8a1503f9b875";
        let ts = uuid6_timestamp(python).unwrap();
        assert_eq!(format_uuid6(ts, 1, 0x8a1503f9b875), python);

        let now = Duration::from_secs(1_700_000_000);
        let first = new_checkpoint_id(now, None, 1).unwrap();
        assert_eq!(&first[14..15], "6");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"));
        // A later Python id (clock ahead of ours) still gets a successor.
        let ahead = format_uuid6(uuid6_timestamp(&first).unwrap() + 10_000_000, 0x3FFE, 0xFFFF_FFFF_FFFF);
        let next = new_checkpoint_id(now, Some(&ahead), 2).unwrap();
        assert!(next > ahead, "{next} must sort after {ahead}");
        assert_eq!(uuid6_timestamp(&next), Some(uuid6_timestamp(&ahead).unwrap() + 1));
        assert!(new_checkpoint_id(now, Some("zzzzzzzz"), 2).is_err());
    }

    #[test]
    fn channel_versions_look_like_pythons() {
        let v = next_channel_version(Some(5)).unwrap();
        let (n, frac) = v.split_at(32);
        assert_eq!(n, "00000000000000000000000000000006");
        assert!(frac.starts_with('.'));
        let frac: f64 = frac[1..].parse().unwrap();
        assert!((1e-4..1.0).contains(&frac));
        assert_eq!(python_float_016(0.25), "0000000000000.25");
        assert_eq!(python_float_016(0.10399814216549486), "0.10399814216549486");
        assert_eq!(version_number(&json!("00000000000000000000000000000006.0.10399814216549486")), Some(6));
        assert_eq!(version_number(&json!(3)), Some(3));
    }

    #[test]
    fn timestamps_match_python_isoformat() {
        let t = Duration::from_secs(1_795_446_000) + Duration::from_micros(123_456);
        assert_eq!(iso_timestamp(t), "2026-11-23T15:00:00.123456+00:00");
        assert_eq!(iso_timestamp(Duration::ZERO), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn random_uuids_are_version_4() {
        let a = random_uuid().unwrap();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, random_uuid().unwrap());
    }
}
