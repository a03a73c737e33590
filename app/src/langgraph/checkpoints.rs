//! A thread's chat history in LangGraph's checkpoint tables, as `PostgresSaver.put()` lays it out.
//!
//! A conversation is a LangGraph thread (`thread_id`, namespace `''`). Each chat turn adds one
//! `checkpoints` row whose parent is the thread's previous checkpoint, and one `checkpoint_blobs`
//! row holding the whole `messages` channel at its new version:
//!
//! - `checkpoint_id` is a UUIDv6 string ([`ids`](super::ids)), `type` is NULL;
//! - `checkpoint` is `{"v":4,"id","ts","channel_values","channel_versions","versions_seen",
//!   "updated_channels"}`; primitive channel values stay inline, lists go to `checkpoint_blobs`;
//! - channel versions are [`versions`](super::versions), in the thread's own form (Python's
//!   strings, or LangGraph.js's numbers on a thread JavaScript started); the messages blob is
//!   [`blobs`](super::blobs), appended in its own format.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postgres::GenericClient;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::blobs::{self, decode_blob, StoredMessages};
use super::ids::new_checkpoint_id;
use super::messages::ChatMessage;
use super::versions::{blob_version, version_number, VersionForm};
use crate::Result;

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

/// What one call to [`append_messages`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SavedCheckpoint {
    /// The thread written to.
    pub thread_id: String,
    /// The new checkpoint's id.
    pub checkpoint_id: String,
    /// The checkpoint it follows, `None` on a new thread.
    pub parent_checkpoint_id: Option<String>,
    /// The `messages` channel version the new blob is stored under.
    pub messages_version: String,
    /// `json` or `msgpack`: the blob format (kept from the thread's previous blob).
    pub blob_type: String,
    /// The new checkpoint's step (`metadata.step`).
    pub step: i64,
    /// How many messages the channel holds after the write.
    pub message_count: usize,
}

/// Rows removed by [`delete_thread`], per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ThreadDeletion {
    /// Rows removed from `checkpoints`.
    pub checkpoints: u64,
    /// Rows removed from `checkpoint_blobs`.
    pub checkpoint_blobs: u64,
    /// Rows removed from `checkpoint_writes` (pending writes of interrupted steps).
    pub checkpoint_writes: u64,
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
/// for m in app::langgraph::checkpoints::history(&mut client, "2f1c0b6e-...")? {
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
    if latest.is_some() {
        upgrade_message_ids(client, thread_id)?;
    }
    let stored = match &latest {
        Some(l) => load_messages(client, thread_id, &l.checkpoint)?,
        None => None,
    };
    let mut stored = stored.unwrap_or(StoredMessages::Json(Vec::new()));
    for m in messages {
        stored.push(m).map_err(|message| blobs::payload(thread_id, MESSAGES_CHANNEL, message))?;
    }
    let (blob_type, blob) = stored.encode().map_err(|message| blobs::payload(thread_id, MESSAGES_CHANNEL, message))?;

    let parent = latest.as_ref();
    let step = parent.map_or(1, |p| p.step + 1);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let checkpoint_id = new_checkpoint_id(now, parent.map(|p| p.id.as_str()), step)?;
    let empty = json!({});
    let previous = parent.map_or(&empty, |p| &p.checkpoint);

    // Every channel written in a step gets one new version: the highest so far plus one.
    let mut channel_versions = previous.get("channel_versions").and_then(Value::as_object).cloned().unwrap_or_default();
    let highest = channel_versions.values().filter_map(version_number).max();
    let version = VersionForm::of(&channel_versions).next(highest)?;
    channel_versions.insert(START_CHANNEL.into(), version.clone());
    channel_versions.insert(MESSAGES_CHANNEL.into(), version.clone());

    let mut versions_seen = previous.get("versions_seen").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut start_seen = versions_seen.get(START_CHANNEL).and_then(Value::as_object).cloned().unwrap_or_default();
    start_seen.insert(START_CHANNEL.into(), version.clone());
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
    let version = blob_version(&version);

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

/// Rewrites the `langchain.schema.messages` ids in the thread's older `json` messages blobs (what
/// the app wrote before) to `langchain_core.messages`: the same classes for Python, and the only
/// form LangChain.js loads, whose `list()` reads every checkpoint's blobs. Returns how many blobs
/// changed; blobs that do not parse are left as they are.
fn upgrade_message_ids(client: &mut impl GenericClient, thread_id: &str) -> Result<u64> {
    // Only blobs holding the alias's `"schema"` are parsed; a thread written since holds none.
    let rows = client.query(
        "SELECT version, blob FROM checkpoint_blobs
         WHERE thread_id = $1 AND checkpoint_ns = $2 AND channel = $3 AND type = 'json'
           AND position(convert_to('\"schema\"', 'UTF8') IN blob) > 0",
        &[&thread_id, &ROOT_NAMESPACE, &MESSAGES_CHANNEL],
    )?;
    let mut upgraded = 0;
    for row in rows {
        let version: String = row.get(0);
        let Some(blob) = row.get::<_, Option<Vec<u8>>>(1).and_then(|b| blobs::upgrade_json_blob(&b)) else { continue };
        upgraded += client.execute(
            "UPDATE checkpoint_blobs SET blob = $5
             WHERE thread_id = $1 AND checkpoint_ns = $2 AND channel = $3 AND version = $4",
            &[&thread_id, &ROOT_NAMESPACE, &MESSAGES_CHANNEL, &version, &blob],
        )?;
    }
    Ok(upgraded)
}

/// Deletes every checkpoint row of a thread (all namespaces) from the three checkpoint tables.
pub fn delete_thread(client: &mut impl GenericClient, thread_id: &str) -> Result<ThreadDeletion> {
    Ok(ThreadDeletion {
        checkpoint_writes: client.execute("DELETE FROM checkpoint_writes WHERE thread_id = $1", &[&thread_id])?,
        checkpoint_blobs: client.execute("DELETE FROM checkpoint_blobs WHERE thread_id = $1", &[&thread_id])?,
        checkpoints: client.execute("DELETE FROM checkpoints WHERE thread_id = $1", &[&thread_id])?,
    })
}

/// Formats a time since the Unix epoch as Python's `datetime.now(timezone.utc).isoformat()`
/// does for a checkpoint's `ts`, always with microseconds: `2026-11-23T15:00:00.123456+00:00`.
///
/// A time past what the calendar holds (year 9999) is shown as its last instant.
pub fn iso_timestamp(since_epoch: Duration) -> String {
    let at = time::Duration::try_from(since_epoch)
        .ok()
        .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_add(d))
        .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
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
        return blobs::decode_json_value(inline.clone())
            .map(Some)
            .map_err(|m| blobs::payload(thread_id, MESSAGES_CHANNEL, m));
    }
    let version = match checkpoint.pointer("/channel_versions/messages") {
        None | Some(Value::Null) => return Ok(None),
        Some(version) => blob_version(version),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_python_isoformat() {
        let t = Duration::from_secs(1_795_446_000) + Duration::from_micros(123_456);
        assert_eq!(iso_timestamp(t), "2026-11-23T15:00:00.123456+00:00");
        assert_eq!(iso_timestamp(Duration::ZERO), "1970-01-01T00:00:00.000000+00:00");
        // 2024-02-29, a leap day, one second before midnight.
        assert_eq!(iso_timestamp(Duration::from_secs(19_782 * 86_400 + 86_399)), "2024-02-29T23:59:59.000000+00:00");
        assert_eq!(iso_timestamp(Duration::from_secs(u64::MAX)), "9999-12-31T23:59:59.999999+00:00");
    }
}
