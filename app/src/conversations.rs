//! Conversations (`llmchat_conversation`): one per user and journey, each a LangGraph thread.

use postgres::GenericClient;
use serde::Serialize;
use serde_json::Value;

use crate::journeys::Journey;
use crate::langgraph::checkpoints;
use crate::langgraph::messages::ChatMessage;
use crate::langgraph::{ids, store};
use crate::{Error, Result};

/// A conversation between a user and the assistant about one journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conversation {
    /// The row id.
    pub id: i64,
    /// The user who chats.
    pub user_id: i64,
    /// The journey it is about.
    pub journey_id: i64,
    /// That journey's slug.
    pub journey_slug: String,
    /// The LangGraph thread holding the chat history (a UUID).
    pub thread_id: String,
    /// The title shown for it (the journey's, when it starts).
    pub title: String,
    /// Its status, as stored.
    pub status: String,
    /// When it started.
    pub created_at: String,
    /// When its last turn ran.
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

/// Returns the error for a conversation that does not exist, saying how to start one.
pub(crate) fn not_found(id: i64) -> Error {
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

/// Returns a conversation's messages, oldest first.
pub fn history(client: &mut impl GenericClient, id: i64) -> Result<Vec<ChatMessage>> {
    let conversation = get(client, id)?;
    checkpoints::history(client, &conversation.thread_id)
}

/// Returns the memories a conversation produced, from the user's store namespace.
pub fn memories(client: &mut impl GenericClient, id: i64) -> Result<Vec<store::Item>> {
    let conversation = get(client, id)?;
    let items = store::search(client, &store::user_memories(conversation.user_id))?;
    Ok(items.into_iter().filter(|i| i.value.get("conversation_id") == Some(&Value::from(id))).collect())
}
