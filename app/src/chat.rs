//! A chat turn: memory extraction updates point statuses and writes the user's memories to the
//! store, the assistant replies, and both messages go into a new checkpoint of the
//! conversation's thread, all in one transaction.

use postgres::Client;
use serde::Serialize;

use crate::assistant::{Assistant, TurnContext};
use crate::extractor::{ExtractionContext, MemoryExtractor};
use crate::langgraph::checkpoints;
use crate::langgraph::messages::ChatMessage;
use crate::langgraph::{ids, store};
use crate::points::{self, PointStatus};
use crate::{conversations, journeys, Error, Result};

/// One chat turn's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Turn {
    /// The conversation chatted in.
    pub conversation_id: i64,
    /// Its LangGraph thread.
    pub thread_id: String,
    /// The checkpoint holding this turn's messages.
    pub checkpoint_id: String,
    /// The assistant's reply.
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
/// let turn = app::chat::turn(&mut client, 1, "Stairs are the worst", &GuideAssistant, &PhraseExtractor)?;
/// println!("{}", turn.reply);
/// # Ok(()) }
/// ```
pub fn turn(
    client: &mut Client,
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
        .ok_or_else(|| conversations::not_found(id))?;
    let conversation = conversations::get(&mut tx, id)?;
    let journey = journeys::get(&mut tx, conversation.journey_id)?;
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
