//! User accounts (`users_account`): creating and finding them (deleting one is [`crate::erasure`]).

use postgres::GenericClient;
use serde::Serialize;

use crate::{Error, Result};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The row id.
    pub id: i64,
    /// The email address, as the user typed it (unique regardless of case).
    pub email: String,
    /// The name shown for the user; may be empty.
    pub display_name: String,
    /// Whether the account may be used.
    pub is_active: bool,
    /// When the account was created, as Postgres prints a `timestamptz` in JSON.
    pub created_at: String,
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
