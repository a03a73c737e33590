//! User accounts (`users_account`): creating, finding, and deleting a user with all they own.

use postgres::GenericClient;
use serde::Serialize;

use crate::conversations::{self, ConversationDeletion};
use crate::langgraph::store;
use crate::{Error, Result};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub is_active: bool,
    pub created_at: String,
}

/// What deleting a user removed, per table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserDeletion {
    pub user_id: i64,
    pub email: String,
    pub conversations: Vec<ConversationDeletion>,
    pub onboarding_answers: u64,
    pub evidence_documents: u64,
    pub store_items: u64,
}

const COLUMNS: &str = "id, email, display_name, is_active, to_json(created_at)#>>'{}'";

fn user(row: &postgres::Row) -> User {
    User { id: row.get(0), email: row.get(1), display_name: row.get(2), is_active: row.get(3), created_at: row.get(4) }
}

/// Checks that `email` looks like an address: one `@` with text on both sides, no spaces.
pub fn validate_email(email: &str) -> Result<()> {
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("{email:?} is not an email address (expected name@example.org)")))
    }
}

/// Creates a user; emails are unique regardless of case.
///
/// ```no_run
/// # fn main() -> app::Result<()> {
/// let mut client = app::db::connect("postgres://localhost/sdm")?;
/// let user = app::users::create(&mut client, "ada@example.org", "Ada")?;
/// println!("user {}", user.id);
/// # Ok(()) }
/// ```
pub fn create(client: &mut impl GenericClient, email: &str, display_name: &str) -> Result<User> {
    let email = email.trim();
    validate_email(email)?;
    let row = client.query_opt(
        &format!(
            "INSERT INTO users_account (email, display_name) VALUES ($1, $2)
             ON CONFLICT ((lower(email))) DO NOTHING RETURNING {COLUMNS}"
        ),
        &[&email, &display_name.trim()],
    )?;
    match row {
        Some(row) => Ok(user(&row)),
        None => Err(Error::Invalid(format!("a user with email {email} already exists"))),
    }
}

/// Returns the user with `email` (any case), if there is one.
pub fn find_by_email(client: &mut impl GenericClient, email: &str) -> Result<Option<User>> {
    let row = client
        .query_opt(&format!("SELECT {COLUMNS} FROM users_account WHERE lower(email) = lower($1)"), &[&email.trim()])?;
    Ok(row.as_ref().map(user))
}

/// Returns the user with `email`, or a not-found error that says how to create one.
pub fn by_email(client: &mut impl GenericClient, email: &str) -> Result<User> {
    find_by_email(client, email)?.ok_or_else(|| {
        Error::NotFound(format!(
            "no user with email {}; create one with `sdm user create --email {}`",
            email.trim(),
            email.trim()
        ))
    })
}

/// Returns the user with `id`.
pub fn get(client: &mut impl GenericClient, id: i64) -> Result<User> {
    let row = client.query_opt(&format!("SELECT {COLUMNS} FROM users_account WHERE id = $1"), &[&id])?;
    row.as_ref().map(user).ok_or_else(|| Error::NotFound(format!("no user with id {id}")))
}

/// Deletes a user and everything that belongs to them, in one transaction: each conversation
/// (with its point statuses, checkpoints and memories), onboarding answers, evidence documents,
/// and every store item under `("users", "<id>")`.
pub fn delete(client: &mut postgres::Client, user_id: i64) -> Result<UserDeletion> {
    let mut tx = client.transaction()?;
    let deletion = delete_in(&mut tx, user_id)?;
    tx.commit()?;
    Ok(deletion)
}

/// Does [`delete`]'s work inside the caller's transaction.
pub fn delete_in(client: &mut impl GenericClient, user_id: i64) -> Result<UserDeletion> {
    let row = client
        .query_opt("SELECT email FROM users_account WHERE id = $1 FOR UPDATE", &[&user_id])?
        .ok_or_else(|| Error::NotFound(format!("no user with id {user_id}")))?;
    let email: String = row.get(0);
    let mut deleted = Vec::new();
    let ids = client.query("SELECT id FROM llmchat_conversation WHERE user_id = $1 ORDER BY id", &[&user_id])?;
    for id in ids {
        deleted.push(conversations::delete_in(client, id.get(0))?);
    }
    let onboarding_answers =
        client.execute("DELETE FROM journeys_onboarding_answer WHERE user_id = $1", &[&user_id])?;
    let evidence_documents = client.execute("DELETE FROM evidence_document WHERE owner_id = $1", &[&user_id])?;
    // The store has no foreign keys: everything under the user's namespace goes explicitly.
    let store_items = store::delete_namespace(client, &store::user_root(user_id))?;
    client.execute("DELETE FROM users_account WHERE id = $1", &[&user_id])?;
    Ok(UserDeletion { user_id, email, conversations: deleted, onboarding_answers, evidence_documents, store_items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_one_at_and_no_spaces() {
        assert!(validate_email("ada@example.org").is_ok());
        for bad in ["", "ada", "@example.org", "ada@", "a b@example.org", "a@b@c"] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
        }
    }
}
