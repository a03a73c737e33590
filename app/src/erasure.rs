//! Erasure: deleting a user or a conversation with everything that belongs to them, in one
//! transaction.
//!
//! Foreign keys cover the platform's own tables; LangGraph's checkpoint tables and store have
//! none, so their rows (a conversation's thread, a user's store namespace) are deleted here by
//! name, whoever wrote them.

use postgres::GenericClient;
use serde::Serialize;

use crate::conversations;
use crate::langgraph::checkpoints::{self, ThreadDeletion};
use crate::langgraph::store;
use crate::{Error, Result};

/// What deleting a conversation removed, per table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationDeletion {
    /// The deleted conversation.
    pub conversation_id: i64,
    /// Its LangGraph thread, whose checkpoint rows went with it.
    pub thread_id: String,
    /// Rows removed from `memory_point_status`.
    pub point_statuses: u64,
    /// Rows removed from the checkpoint tables.
    #[serde(flatten)]
    pub checkpoint_rows: ThreadDeletion,
    /// Memories in the user's store namespace that came from this conversation.
    pub store_items: u64,
}

/// What deleting a user removed, per table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserDeletion {
    /// The deleted user.
    pub user_id: i64,
    /// Their email address.
    pub email: String,
    /// Each of their conversations, deleted as [`delete_conversation`] does.
    pub conversations: Vec<ConversationDeletion>,
    /// Rows removed from `journeys_onboarding_answer`.
    pub onboarding_answers: u64,
    /// Rows removed from `evidence_document`.
    pub evidence_documents: u64,
    /// Store items removed from under `("users", "<id>")`, in every namespace below it.
    pub store_items: u64,
}

/// Deletes a conversation and everything that belongs to it, in one transaction: its point
/// statuses, its thread's rows in the three checkpoint tables, the memories it produced, and
/// the conversation row.
///
/// ```no_run
/// # fn main() -> app::Result<()> {
/// let mut client = app::db::connect("postgres://localhost/sdm")?;
/// let deleted = app::erasure::delete_conversation(&mut client, 1)?;
/// println!("{} checkpoints", deleted.checkpoint_rows.checkpoints);
/// # Ok(()) }
/// ```
pub fn delete_conversation(client: &mut postgres::Client, id: i64) -> Result<ConversationDeletion> {
    let mut tx = client.transaction()?;
    let deletion = delete_conversation_in(&mut tx, id)?;
    tx.commit()?;
    Ok(deletion)
}

/// Does [`delete_conversation`]'s work inside the caller's transaction.
pub fn delete_conversation_in(client: &mut impl GenericClient, id: i64) -> Result<ConversationDeletion> {
    let row = client
        .query_opt("SELECT thread_id, user_id FROM llmchat_conversation WHERE id = $1 FOR UPDATE", &[&id])?
        .ok_or_else(|| conversations::not_found(id))?;
    let thread_id: String = row.get(0);
    let user_id: i64 = row.get(1);
    let point_statuses = client.execute("DELETE FROM memory_point_status WHERE conversation_id = $1", &[&id])?;
    let checkpoint_rows = checkpoints::delete_thread(client, &thread_id)?;
    let memories = store::prefix(&store::user_memories(user_id))?;
    let store_items = client.execute(
        "DELETE FROM store WHERE prefix = $1 AND value->>'conversation_id' = $2",
        &[&memories, &id.to_string()],
    )?;
    client.execute("DELETE FROM llmchat_conversation WHERE id = $1", &[&id])?;
    Ok(ConversationDeletion { conversation_id: id, thread_id, point_statuses, checkpoint_rows, store_items })
}

/// Deletes a user and everything that belongs to them, in one transaction: each conversation
/// (with its point statuses, checkpoints and memories), onboarding answers, evidence documents,
/// and every store item under `("users", "<id>")`.
pub fn delete_user(client: &mut postgres::Client, user_id: i64) -> Result<UserDeletion> {
    let mut tx = client.transaction()?;
    let deletion = delete_user_in(&mut tx, user_id)?;
    tx.commit()?;
    Ok(deletion)
}

/// Does [`delete_user`]'s work inside the caller's transaction.
pub fn delete_user_in(client: &mut impl GenericClient, user_id: i64) -> Result<UserDeletion> {
    let row = client
        .query_opt("SELECT email FROM users_account WHERE id = $1 FOR UPDATE", &[&user_id])?
        .ok_or_else(|| Error::NotFound(format!("no user with id {user_id}")))?;
    let email: String = row.get(0);
    let mut deleted = Vec::new();
    let ids = client.query("SELECT id FROM llmchat_conversation WHERE user_id = $1 ORDER BY id", &[&user_id])?;
    for id in ids {
        deleted.push(delete_conversation_in(client, id.get(0))?);
    }
    let onboarding_answers =
        client.execute("DELETE FROM journeys_onboarding_answer WHERE user_id = $1", &[&user_id])?;
    let evidence_documents = client.execute("DELETE FROM evidence_document WHERE owner_id = $1", &[&user_id])?;
    let store_items = store::delete_namespace(client, &store::user_root(user_id))?;
    client.execute("DELETE FROM users_account WHERE id = $1", &[&user_id])?;
    Ok(UserDeletion { user_id, email, conversations: deleted, onboarding_answers, evidence_documents, store_items })
}
