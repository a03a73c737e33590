//! Turns a Postgres error in a migration into `file:line:column`, a caret under the source line,
//! and Postgres's full report (message, detail, hint, context).
//!
//! Postgres gives a position for most errors (a character count across the whole string that was
//! sent); for the others (e.g. "already exists") the runner knows the failing statement from the
//! run itself (see `one_transaction`): a failed migration never runs a second time.

use postgres::error::{DbError, ErrorPosition, SqlState};
use postgres::Client;

use super::statements;
use crate::migrations::{MigrationFile, NO_TRANSACTION_MARKER};
use crate::Error;

/// Returns the 0-based character offset in `sql` of the error Postgres reported, if it gave a
/// position; `sql` was sent after `prefix_chars` characters of other text.
pub(super) fn char_offset(error: &postgres::Error, sql: &str, prefix_chars: usize) -> Option<usize> {
    char_offset_of(error.as_db_error()?, sql, prefix_chars)
}

/// Returns the 0-based character offset in `sql` of Postgres's position in `db`, if it has one.
pub(super) fn char_offset_of(db: &DbError, sql: &str, prefix_chars: usize) -> Option<usize> {
    match db.position()? {
        // Postgres counts characters from 1, across the whole multi-statement string.
        ErrorPosition::Original(position) => Some((*position as usize).saturating_sub(1 + prefix_chars)),
        // An internal query (e.g. a function body) is found by its text in the file.
        ErrorPosition::Internal { position, query } => {
            let start = sql.find(query.as_str())?;
            Some(sql[..start].chars().count() + (*position as usize).saturating_sub(1))
        }
    }
}

/// Builds the error for `file`'s failed SQL, given the 0-based character `offset` in the file of
/// Postgres's position or of the failing statement, if known (else `unplaced` says why not), and
/// the role that ran it.
pub(super) fn sql_failure(
    client: &mut Client,
    file: &MigrationFile,
    error: &postgres::Error,
    offset: Option<usize>,
    unplaced: &str,
    role: Option<String>,
) -> Error {
    let (line, column) = offset.map_or((1, 1), |o| line_column(&file.sql, o));
    let mut message = crate::db::report(error);
    match offset {
        Some(_) => message.push_str(&caret(&file.sql, offset)),
        None => message.push_str(&format!("\n({unplaced})")),
    }
    let statement = offset.map(|o| statement_at(&file.sql, o)).unwrap_or_default();
    message.push_str(&advice(client, error, role, &statement));
    let fix = match error.code() {
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => "migrate again once that is done".to_string(),
        _ => format!("fix {} and migrate again", file.path.display()),
    };
    message.push_str(&format!("\nThe migration was rolled back and nothing of it is applied; {fix}."));
    Error::MigrationFailed { name: file.label(), path: file.path.clone(), line, column, message }
}

/// Returns the statement of `sql` that holds character `offset`.
fn statement_at(sql: &str, offset: usize) -> String {
    let byte = sql.char_indices().nth(offset).map_or(sql.len(), |(b, _)| b);
    statements::split(sql).spans().find(|s| s.contains(&byte)).map(|s| sql[s].to_string()).unwrap_or_default()
}

/// Whether `error` is a lock Postgres could not get in time (`lock_timeout`, `NOWAIT`).
pub(super) fn lock_timeout(error: &postgres::Error) -> bool {
    error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
}

/// Returns the error for `file` that timed out on a lock; `state` says what of it is applied.
/// The runner fills in the tries and the sessions it waited behind.
pub(super) fn timed_out(file: &MigrationFile, state: String) -> Error {
    Error::LockTimeout { name: file.label(), path: file.path.clone(), message: state }
}

/// Returns the source line of character `offset` of `sql` with a caret under it, on lines of
/// their own (nothing without an offset).
pub(super) fn caret(sql: &str, offset: Option<usize>) -> String {
    let Some(offset) = offset else { return String::new() };
    let (line, column) = line_column(sql, offset);
    let Some(source_line) = sql.lines().nth(line - 1) else { return String::new() };
    let pad: String = source_line.chars().take(column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    format!("\n    | {source_line}\n    | {pad}^")
}

/// Returns what to do about errors that have a usual cause, on a line of its own (or nothing);
/// `role` is the role that ran `statement`, when the runner knows it.
pub(super) fn advice(client: &mut Client, error: &postgres::Error, role: Option<String>, statement: &str) -> String {
    let Some(code) = error.code() else { return String::new() };
    if *code == SqlState::ACTIVE_SQL_TRANSACTION {
        return format!(
            "\nThis statement cannot run inside a transaction, and a migration runs in one: make \
             `{NO_TRANSACTION_MARKER}` the file's first line to run it statement by statement outside a \
             transaction, or use the plain form of the statement (CREATE INDEX instead of CREATE INDEX \
             CONCURRENTLY)."
        );
    }
    if *code == SqlState::UNSAFE_NEW_ENUM_VALUE_USAGE {
        return format!(
            "\nA value added with ALTER TYPE ... ADD VALUE cannot be used before its transaction commits: \
             add the value in a migration of its own, or make `{NO_TRANSACTION_MARKER}` this file's first \
             line so each statement commits before the next."
        );
    }
    if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        let role = role.unwrap_or_else(|| {
            client
                .query_one("SELECT current_user::text", &[])
                .map(|row| row.get(0))
                .unwrap_or_else(|_| "the migrating role".to_string())
        });
        let db = error.as_db_error();
        let (message, hint) = (db.map_or("", |d| d.message()), db.and_then(|d| d.hint()).unwrap_or(""));
        return privilege_advice(&role, message, hint, statement);
    }
    String::new()
}

/// Returns what to do when role `role` was refused with Postgres's `message` and `hint`: no grant
/// helps what only a superuser or an object's owner may do, so those are told apart.
fn privilege_advice(role: &str, message: &str, hint: &str, statement: &str) -> String {
    if hint.contains("Must be superuser") || message.contains("must be superuser") {
        let first = match message.strip_prefix("permission denied to create extension ") {
            Some(name) => format!(
                "have a superuser run `CREATE EXTENSION IF NOT EXISTS {};` in this database first (the \
                 migration's IF NOT EXISTS then finds it)",
                name.trim_matches('"')
            ),
            None => "have a superuser run this statement".to_string(),
        };
        return format!(
            "\nOnly a superuser may do this, and the role {role} is not one: no grant gives it. Either {first}, \
             or migrate as a superuser."
        );
    }
    if let Some(object) = message.strip_prefix("must be owner of ") {
        return format!(
            "\nOnly the owner of {object} (or a member of the owning role) may do this, and the role {role} is \
             neither: migrate as the owner, or have the owner or a superuser run `ALTER {} OWNER TO {role};`.",
            owner_target(object)
        );
    }
    if let Some((privilege, kind, name)) = lacked(message, statement) {
        return format!(
            "\nThe role {role} lacks the {privilege} privilege on {kind} {name}: as its owner or a superuser, run \
             `GRANT {privilege} ON {} {name} TO {role};`, or migrate as a role that has it.",
            kind.to_uppercase()
        );
    }
    format!(
        "\nThe role {role} lacks a privilege this statement needs: grant it to {role}, or migrate as a role that \
         has it, such as the owner of the database or of the object."
    )
}

/// Returns the privilege, the kind of object and its name that Postgres's `permission denied for
/// <kind> <name>` message and the statement that got it say the role lacked.
fn lacked(message: &str, statement: &str) -> Option<(&'static str, String, String)> {
    let rest = message.strip_prefix("permission denied for ")?;
    let (kind, name) = rest.rsplit_once(' ')?;
    let first = statements::leading_words(statement, 1).into_iter().next().unwrap_or_default();
    let privilege = match (kind, first.as_str()) {
        ("schema", "create" | "alter") => "CREATE",
        ("schema", _) => "USAGE",
        ("table" | "relation" | "view" | "materialized view" | "sequence", word) => match word {
            "insert" => "INSERT",
            "update" => "UPDATE",
            "delete" => "DELETE",
            "truncate" => "TRUNCATE",
            "select" | "with" | "copy" => "SELECT",
            _ => return None,
        },
        ("function" | "procedure", _) => "EXECUTE",
        ("database", _) => "CREATE",
        _ => return None,
    };
    let kind = match kind {
        "relation" | "view" | "materialized view" => "table",
        other => other,
    };
    Some((privilege, kind.to_string(), name.to_string()))
}

/// Returns what `ALTER ... OWNER TO` takes for the object Postgres names as `object` (`table
/// users_account`): its kind in capitals, then its name; a relation is altered as a table.
fn owner_target(object: &str) -> String {
    let (kind, name) = object.split_once(' ').unwrap_or(("table", object));
    let kind = if kind == "relation" { "table" } else { kind };
    format!("{} {name}", kind.to_uppercase())
}

/// Returns the error for `file` whose connection was lost with `error`; `state` says what of it
/// may be applied.
pub(super) fn lost(file: &MigrationFile, error: &postgres::Error, state: String) -> Error {
    Error::ConnectionLost {
        name: file.label(),
        path: file.path.clone(),
        cause: crate::db::report(error),
        state: format!("this is no fault of its SQL. {state}"),
    }
}

/// Whether `error` means the connection is gone (closed, broken, or ended by the server's
/// shutdown), rather than that a statement failed.
pub(crate) fn connection_lost(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.as_db_error() {
        // admin_shutdown, crash_shutdown, cannot_connect_now, and the connection exception class.
        Some(db) => matches!(db.code().code(), "57P01" | "57P02" | "57P03") || db.code().code().starts_with("08"),
        None => std::error::Error::source(error).is_some_and(|cause| cause.is::<std::io::Error>()),
    }
}

/// Returns the 1-based line and column of 0-based character `offset` in `sql`.
pub(super) fn line_column(sql: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut column) = (1, 1);
    for c in sql.chars().take(offset) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_only_a_superuser_or_the_owner_may_do() {
        let extension = privilege_advice(
            "sdm",
            r#"permission denied to create extension "postgres_fdw""#,
            "Must be superuser to create this extension.",
            "CREATE EXTENSION postgres_fdw",
        );
        assert!(extension.contains("Only a superuser may do this, and the role sdm is not one"), "{extension}");
        assert!(extension.contains("`CREATE EXTENSION IF NOT EXISTS postgres_fdw;`"), "{extension}");
        assert!(!extension.contains("GRANT"), "no grant helps: {extension}");
        let trigger = privilege_advice(
            "sdm",
            r#"permission denied to create event trigger "log""#,
            "Must be superuser to create an event trigger.",
            "CREATE EVENT TRIGGER log ON ddl_command_start EXECUTE FUNCTION f()",
        );
        assert!(trigger.contains("have a superuser run this statement"), "{trigger}");
        let owner =
            privilege_advice("sdm", "must be owner of table users_account", "", "ALTER TABLE users_account ADD c int");
        assert!(owner.contains("Only the owner of table users_account"), "{owner}");
        assert!(owner.contains("`ALTER TABLE users_account OWNER TO sdm;`"), "{owner}");
        let grant = privilege_advice("sdm", "permission denied for schema public", "", "CREATE TABLE t (i int)");
        assert!(grant.contains("The role sdm lacks the CREATE privilege on schema public"), "{grant}");
        assert!(grant.contains("`GRANT CREATE ON SCHEMA public TO sdm;`"), "{grant}");
        let insert = privilege_advice("someone", "permission denied for table h", "", "-- c\ninsert into h values (1)");
        assert!(insert.contains("`GRANT INSERT ON TABLE h TO someone;`"), "{insert}");
        let usage = privilege_advice("someone", "permission denied for schema app", "", "SELECT 1 FROM app.t");
        assert!(usage.contains("lacks the USAGE privilege on schema app"), "{usage}");
    }

    #[test]
    fn finds_line_and_column_by_characters() {
        let sql = "-- é\nSELECT 1;\n  BAD";
        let offset = sql.chars().position(|c| c == 'B').unwrap();
        assert_eq!(line_column(sql, offset), (3, 3));
        assert_eq!(line_column(sql, 0), (1, 1));
    }
}
