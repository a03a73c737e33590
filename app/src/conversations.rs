//! Conversations (`llmchat_conversation`): one per user and journey, each a LangGraph thread.
//!
//! A chat turn runs in one transaction: memory extraction updates point statuses and writes the
//! user's memories to the store, the assistant replies, and both messages go into a new
//! checkpoint of the conversation's thread.

use postgres::GenericClient;
use serde::Serialize;
use serde_json::Value;

use crate::assistant::{Assistant, TurnContext};
use crate::extractor::{ExtractionContext, MemoryExtractor};
use crate::journeys::Journey;
use crate::langgraph::checkpoints::{self, ThreadDeletion};
use crate::langgraph::messages::ChatMessage;
use crate::langgraph::{ids, store};
use crate::points::{self, PointStatus};
use crate::{Error, Result};

/// A conversation between a user and the assistant about one journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conversation {
    pub id: i64,
    pub user_id: i64,
    pub journey_id: i64,
    pub journey_slug: String,
    /// The LangGraph thread holding the chat history (a UUID).
    pub thread_id: String,
    pub title: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "c.id, c.user_id, c.journey_id, j.slug, c.thread_id, c.title, c.status, to_json(c.created_at)#>>'{}', to_json(c.updated_at)#>>'{}'";

fn conversation(row: &postgres::Row) -> Conversation {
    Conversation {
        id: row.get(0),
        user_id: row.get(1),
        journey_id: row.get(2),
        journey_slug: row.get(3),
        thread_id: row.get(4),
        title: row.get(5),
        status: row.get(6),
        created_at: row.get(7),
        updated_at: row.get(8),
    }
}

fn not_found(id: i64) -> Error {
    Error::NotFound(format!("no conversation with id {id}; `sdm onboard` starts one"))
}

/// Returns the conversation with `id`.
pub fn get(client: &mut impl GenericClient, id: i64) -> Result<Conversation> {
    let row = client.query_opt(
        &format!("SELECT {COLUMNS} FROM llmchat_conversation c JOIN journeys_journey j ON j.id = c.journey_id WHERE c.id = $1"),
        &[&id],
    )?;
    row.as_ref().map(conversation).ok_or_else(|| not_found(id))
}

/// Returns a user's conversations, oldest first.
pub fn for_user(client: &mut impl GenericClient, user_id: i64) -> Result<Vec<Conversation>> {
    let rows = client.query(
        &format!(
            "SELECT {COLUMNS} FROM llmchat_conversation c JOIN journeys_journey j ON j.id = c.journey_id
             WHERE c.user_id = $1 ORDER BY c.id"
        ),
        &[&user_id],
    )?;
    Ok(rows.iter().map(conversation).collect())
}

/// Starts the user's conversation on a journey with a fresh thread id, or returns the one they
/// already have; the flag says whether it was created.
pub fn start(client: &mut impl GenericClient, user_id: i64, journey: &Journey) -> Result<(Conversation, bool)> {
    let thread_id = ids::random_uuid();
    let inserted = client.query_opt(
        "INSERT INTO llmchat_conversation (user_id, journey_id, thread_id, title) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, journey_id) DO NOTHING RETURNING id",
        &[&user_id, &journey.id, &thread_id, &journey.title],
    )?;
    let created = inserted.is_some();
    let row = client.query_one(
        &format!(
            "SELECT {COLUMNS} FROM llmchat_conversation c JOIN journeys_journey j ON j.id = c.journey_id
             WHERE c.user_id = $1 AND c.journey_id = $2"
        ),
        &[&user_id, &journey.id],
    )?;
    Ok((conversation(&row), created))
}

/// What deleting a conversation removed, per table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationDeletion {
    pub conversation_id: i64,
    pub thread_id: String,
    pub point_statuses: u64,
    #[serde(flatten)]
    pub checkpoint_rows: ThreadDeletion,
    /// Memories in the user's store namespace that came from this conversation.
    pub store_items: u64,
}

/// Deletes a conversation and everything that belongs to it, in one transaction: its point
/// statuses, its thread's rows in the three checkpoint tables, the memories it produced, and
/// the conversation row.
pub fn delete(client: &mut postgres::Client, id: i64) -> Result<ConversationDeletion> {
    let mut tx = client.transaction()?;
    let deletion = delete_in(&mut tx, id)?;
    tx.commit()?;
    Ok(deletion)
}

/// Does [`delete`]'s work inside the caller's transaction.
pub fn delete_in(client: &mut impl GenericClient, id: i64) -> Result<ConversationDeletion> {
    let row = client
        .query_opt("SELECT thread_id, user_id FROM llmchat_conversation WHERE id = $1 FOR UPDATE", &[&id])?
        .ok_or_else(|| not_found(id))?;
    let thread_id: String = row.get(0);
    let user_id: i64 = row.get(1);
    let point_statuses = client.execute("DELETE FROM memory_point_status WHERE conversation_id = $1", &[&id])?;
    // The checkpoint tables and the store have no foreign keys: their rows go explicitly.
    let checkpoint_rows = checkpoints::delete_thread(client, &thread_id)?;
    let memories = store::prefix(&store::user_memories(user_id))?;
    let store_items = client.execute(
        "DELETE FROM store WHERE prefix = $1 AND value->>'conversation_id' = $2",
        &[&memories, &id.to_string()],
    )?;
    client.execute("DELETE FROM llmchat_conversation WHERE id = $1", &[&id])?;
    Ok(ConversationDeletion { conversation_id: id, thread_id, point_statuses, checkpoint_rows, store_items })
}

/// Returns a conversation's messages, oldest first.
pub fn history(client: &mut impl GenericClient, id: i64) -> Result<Vec<ChatMessage>> {
    let conversation = get(client, id)?;
    checkpoints::history(client, &conversation.thread_id)
}

/// One chat turn's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Turn {
    pub conversation_id: i64,
    pub thread_id: String,
    pub checkpoint_id: String,
    pub reply: String,
    /// Fixture ids of the points this message covered.
    pub covered: Vec<String>,
    /// Fixture id of the point now in progress, if the message did not cover it.
    pub in_progress: Option<String>,
    /// Store key of the memory written for this message, if any.
    pub memory_key: Option<String>,
}

/// Runs one chat turn in one transaction: extracts memories from `message`, updates point
/// statuses, stores the memory under `("users", "<id>", "memories")` (keyed by the message id),
/// asks `assistant` for a reply, and appends both messages to the thread in a new checkpoint.
///
/// ```no_run
/// # fn main() -> app::Result<()> {
/// use app::{assistant::GuideAssistant, extractor::PhraseExtractor};
/// let mut client = app::db::connect("postgres://localhost/sdm")?;
/// let turn = app::conversations::chat(&mut client, 1, "Stairs are the worst", &GuideAssistant, &PhraseExtractor)?;
/// println!("{}", turn.reply);
/// # Ok(()) }
/// ```
pub fn chat(
    client: &mut postgres::Client,
    id: i64,
    message: &str,
    assistant: &dyn Assistant,
    extractor: &dyn MemoryExtractor,
) -> Result<Turn> {
    if message.trim().is_empty() {
        return Err(Error::Invalid("the message is empty; say something".into()));
    }
    let mut tx = client.transaction()?;
    // Locking the conversation queues concurrent turns, so the thread's parent chain stays linear.
    tx.query_opt("SELECT 1 FROM llmchat_conversation WHERE id = $1 FOR UPDATE", &[&id])?
        .ok_or_else(|| not_found(id))?;
    let conversation = get(&mut tx, id)?;
    let journey = crate::journeys::get(&mut tx, conversation.journey_id)?;
    let before = points::progress(&mut tx, id)?;
    let previous = checkpoints::history(&mut tx, &conversation.thread_id)?;

    let extraction = extractor.extract(&ExtractionContext {
        user_id: conversation.user_id,
        conversation_id: id,
        journey_slug: &journey.slug,
        message,
        points: &before,
    })?;
    let row_of = |point_id: &str| before.iter().find(|p| p.point.point_id == point_id).map(|p| p.point.row_id);
    for point_id in &extraction.covered {
        let row = row_of(point_id).ok_or_else(|| unknown_point(&journey.slug, point_id))?;
        points::advance(&mut tx, id, row, PointStatus::Covered, message.trim())?;
    }
    if let Some(point_id) = &extraction.in_progress {
        let row = row_of(point_id).ok_or_else(|| unknown_point(&journey.slug, point_id))?;
        points::advance(&mut tx, id, row, PointStatus::InProgress, "")?;
    }

    let human = ChatMessage::human(message);
    let memory_key = match &extraction.memory {
        Some(memory) => {
            let key = human.id.clone().unwrap_or_else(ids::random_uuid);
            let value = serde_json::to_value(memory)?;
            store::put(&mut tx, &store::user_memories(conversation.user_id), &key, &value)?;
            Some(key)
        }
        None => None,
    };

    let after = points::progress(&mut tx, id)?;
    let newly_covered: Vec<_> =
        after.iter().filter(|p| extraction.covered.contains(&p.point.point_id)).cloned().collect();
    let reply = assistant.reply(&TurnContext {
        journey_title: &journey.title,
        message,
        previous_messages: previous.len(),
        points: &after,
        newly_covered: &newly_covered,
    })?;
    let saved = checkpoints::append_messages(&mut tx, &conversation.thread_id, &[human, ChatMessage::ai(&reply)])?;
    tx.execute("UPDATE llmchat_conversation SET updated_at = now() WHERE id = $1", &[&id])?;
    tx.commit()?;
    Ok(Turn {
        conversation_id: id,
        thread_id: conversation.thread_id,
        checkpoint_id: saved.checkpoint_id,
        reply,
        covered: extraction.covered,
        in_progress: extraction.in_progress,
        memory_key,
    })
}

fn unknown_point(journey: &str, point_id: &str) -> Error {
    Error::Invalid(format!("the extractor named point {point_id:?}, which journey {journey} does not have"))
}

/// Returns the memories a conversation produced, from the user's store namespace.
pub fn memories(client: &mut impl GenericClient, id: i64) -> Result<Vec<store::Item>> {
    let conversation = get(client, id)?;
    let items = store::search(client, &store::user_memories(conversation.user_id))?;
    Ok(items.into_iter().filter(|i| i.value.get("conversation_id") == Some(&Value::from(id))).collect())
}
