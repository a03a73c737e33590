//! Turns a Postgres error in a migration into `file:line:column`, a caret under the source line,
//! and Postgres's full report (message, detail, hint, context).
//!
//! Postgres gives a position for most errors (a character count across the whole string that was
//! sent); for the others (e.g. "already exists") the failing statement is found by running the
//! file again, statement by statement, in a transaction that is rolled back.

use postgres::error::{DbError, ErrorPosition, SqlState};
use postgres::Client;

use super::statements;
use crate::migrations::MigrationFile;
use crate::Error;

/// Returns the 0-based character offset in `sql` of the error Postgres reported, if it gave a
/// position; `sql` was sent after `prefix_chars` characters of other text.
pub(super) fn char_offset(error: &postgres::Error, sql: &str, prefix_chars: usize) -> Option<usize> {
    char_offset_of(error.as_db_error()?, sql, prefix_chars)
}

fn char_offset_of(db: &DbError, sql: &str, prefix_chars: usize) -> Option<usize> {
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

/// Builds the error for `file`'s failed SQL, given Postgres's error `offset` in the file, if any.
///
/// Without a position, re-runs the file statement by statement in a transaction that is rolled
/// back, to find which statement fails.
pub(super) fn sql_failure(
    client: &mut Client,
    file: &MigrationFile,
    error: &postgres::Error,
    offset: Option<usize>,
) -> Error {
    let offset = offset.or_else(|| {
        let code = error.as_db_error()?.code().clone();
        failing_statement(client, &file.sql, &code)
    });
    sql_failure_at(file, error, offset)
}

/// Builds the error for `file`, with the failure at character `offset` (0-based) of its SQL.
fn sql_failure_at(file: &MigrationFile, error: &postgres::Error, offset: Option<usize>) -> Error {
    let (line, column) = offset.map_or((1, 1), |o| line_column(&file.sql, o));
    let mut message = report(error);
    if let Some(source_line) = file.sql.lines().nth(line - 1).filter(|_| offset.is_some()) {
        let pad: String = source_line.chars().take(column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        message.push_str(&format!("\n    | {source_line}\n    | {pad}^"));
    }
    if error.code() == Some(&SqlState::ACTIVE_SQL_TRANSACTION) {
        message.push_str(
            "\nEvery migration runs inside a transaction: use the plain form of the statement \
             (CREATE INDEX instead of CREATE INDEX CONCURRENTLY, no VACUUM or COMMIT).",
        );
    }
    message.push_str(&format!(
        "\nThe migration was rolled back and nothing of it is applied; fix {} and migrate again.",
        file.path.display()
    ));
    Error::MigrationFailed { name: file.label(), path: file.path.clone(), line, column, message }
}

/// Returns Postgres's full report of `error` (severity, SQLSTATE, message, detail, hint, context),
/// or for an error that did not come from the server, its message and causes.
///
/// `postgres::Error` itself says only `db error`; the report is what is worth showing.
pub(crate) fn report(error: &postgres::Error) -> String {
    let Some(db) = error.as_db_error() else { return crate::db::with_sources(error) };
    let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    if let Some(detail) = db.detail() {
        text.push_str(&format!("\nDETAIL: {detail}"));
    }
    if let Some(hint) = db.hint() {
        text.push_str(&format!("\nHINT: {hint}"));
    }
    if let Some(context) = db.where_() {
        text.push_str(&format!("\nCONTEXT: {context}"));
    }
    text
}

/// Returns the 1-based line and column of 0-based character `offset` in `sql`.
fn line_column(sql: &str, offset: usize) -> (usize, usize) {
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

/// Runs `sql` statement by statement in a rolled-back transaction; returns the character offset
/// of the first statement that fails with `code` (or of Postgres's position inside it).
fn failing_statement(client: &mut Client, sql: &str, code: &SqlState) -> Option<usize> {
    let mut tx = client.transaction().ok()?;
    for span in statements::split(sql).spans {
        let statement = &sql[span.clone()];
        if let Err(error) = tx.batch_execute(statement) {
            let db = error.as_db_error()?;
            if db.code() != code {
                return None;
            }
            let within = char_offset_of(db, statement, 0)
                .unwrap_or_else(|| statement[..statements::first_token(statement)].chars().count());
            return Some(sql[..span.start].chars().count() + within);
        }
    }
    None // dropping the transaction rolls it back
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_line_and_column_by_characters() {
        let sql = "-- é\nSELECT 1;\n  BAD";
        let offset = sql.chars().position(|c| c == 'B').unwrap();
        assert_eq!(line_column(sql, offset), (3, 3));
        assert_eq!(line_column(sql, 0), (1, 1));
    }

    #[test]
    fn reports_a_client_side_error_with_its_causes() {
        let error = "port=not-a-number".parse::<postgres::Config>().unwrap_err();
        assert_eq!(report(&error), "invalid connection string: invalid value for option `port`");
    }
}
