//! Long-term memory in LangGraph's `store` table, laid out as langgraph's `PostgresStore` does.
//!
//! An item lives under a namespace (a tuple of labels, stored as `prefix` = labels joined with
//! `.`) and a key; its value is a JSON object. A user's memories live under
//! `("users", "<user id>", "memories")`.

use postgres::GenericClient;
use serde::Serialize;
use serde_json::Value;

use crate::{Error, Result};

/// One stored item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// The namespace's labels, e.g. `["users", "7", "memories"]`.
    pub namespace: Vec<String>,
    /// The item's key within the namespace.
    pub key: String,
    /// The item, a JSON object.
    pub value: Value,
    /// When it was first stored.
    pub created_at: Option<String>,
    /// When it was last replaced.
    pub updated_at: Option<String>,
}

/// Returns the namespace of a user's memories: `("users", "<id>", "memories")`.
pub fn user_memories(user_id: i64) -> Vec<String> {
    vec!["users".to_string(), user_id.to_string(), "memories".to_string()]
}

/// Returns the namespace of everything stored for a user: `("users", "<id>")`.
pub fn user_root(user_id: i64) -> Vec<String> {
    vec!["users".to_string(), user_id.to_string()]
}

/// Joins a namespace into a `prefix`, refusing labels LangGraph refuses (empty, or with a `.`).
pub fn prefix<S: AsRef<str>>(namespace: &[S]) -> Result<String> {
    if namespace.is_empty() {
        return Err(Error::Invalid("a store namespace needs at least one label".into()));
    }
    for label in namespace {
        let label = label.as_ref();
        if label.is_empty() || label.contains('.') {
            return Err(Error::Invalid(format!(
                "store namespace label {label:?} is empty or contains '.'; labels are joined with '.'"
            )));
        }
    }
    Ok(namespace.iter().map(AsRef::as_ref).collect::<Vec<_>>().join("."))
}

/// Escapes `%`, `_` and `\` so `s` matches itself literally in `LIKE ... ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Stores `value` (a JSON object) under `namespace`/`key`, replacing any item already there.
pub fn put<S: AsRef<str>>(client: &mut impl GenericClient, namespace: &[S], key: &str, value: &Value) -> Result<()> {
    let prefix = prefix(namespace)?;
    if !value.is_object() {
        return Err(Error::Invalid(format!("store item {prefix}/{key}: the value must be a JSON object")));
    }
    client.execute(
        "INSERT INTO store (prefix, key, value, created_at, updated_at)
         VALUES ($1, $2, $3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
         ON CONFLICT (prefix, key) DO UPDATE SET value = EXCLUDED.value, updated_at = CURRENT_TIMESTAMP",
        &[&prefix, &key, value],
    )?;
    Ok(())
}

/// Returns the item at `namespace`/`key`, if any.
pub fn get<S: AsRef<str>>(client: &mut impl GenericClient, namespace: &[S], key: &str) -> Result<Option<Item>> {
    let prefix = prefix(namespace)?;
    let row = client.query_opt(
        "SELECT prefix, key, value, to_json(created_at)#>>'{}', to_json(updated_at)#>>'{}' FROM store WHERE prefix = $1 AND key = $2",
        &[&prefix, &key],
    )?;
    Ok(row.map(|r| item(&r)))
}

/// Returns the items in `namespace` and every namespace below it, newest first.
pub fn search<S: AsRef<str>>(client: &mut impl GenericClient, namespace: &[S]) -> Result<Vec<Item>> {
    let prefix = prefix(namespace)?;
    let below = format!("{}.%", like_escape(&prefix));
    let rows = client.query(
        "SELECT prefix, key, value, to_json(created_at)#>>'{}', to_json(updated_at)#>>'{}' FROM store
         WHERE prefix = $1 OR prefix LIKE $2 ESCAPE '\\'
         ORDER BY updated_at DESC, prefix, key",
        &[&prefix, &below],
    )?;
    Ok(rows.iter().map(item).collect())
}

/// Deletes the item at `namespace`/`key`; returns whether there was one.
pub fn delete<S: AsRef<str>>(client: &mut impl GenericClient, namespace: &[S], key: &str) -> Result<bool> {
    let prefix = prefix(namespace)?;
    Ok(client.execute("DELETE FROM store WHERE prefix = $1 AND key = $2", &[&prefix, &key])? > 0)
}

/// Deletes every item in `namespace` and below it; returns how many went.
pub fn delete_namespace<S: AsRef<str>>(client: &mut impl GenericClient, namespace: &[S]) -> Result<u64> {
    let prefix = prefix(namespace)?;
    let below = format!("{}.%", like_escape(&prefix));
    Ok(client.execute("DELETE FROM store WHERE prefix = $1 OR prefix LIKE $2 ESCAPE '\\'", &[&prefix, &below])?)
}

fn item(row: &postgres::Row) -> Item {
    let prefix: String = row.get(0);
    Item {
        namespace: prefix.split('.').map(str::to_string).collect(),
        key: row.get(1),
        value: row.get(2),
        created_at: row.get(3),
        updated_at: row.get(4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_join_labels_and_refuse_dots() {
        assert_eq!(prefix(&user_memories(7)).unwrap(), "users.7.memories");
        assert!(prefix(&["users", "a.b"]).is_err());
        assert!(prefix(&["users", ""]).is_err());
        assert!(prefix::<&str>(&[]).is_err());
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("users.1_%\\x"), "users.1\\_\\%\\\\x");
    }
}
