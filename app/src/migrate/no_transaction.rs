//! Applies a migration marked `-- no-transaction`: each statement on its own, outside a
//! transaction (still under the run's advisory lock), and the history row after the last one.
//!
//! This is for what Postgres cannot run in a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`)
//! or cannot use before a commit (an enum value added with `ALTER TYPE ... ADD VALUE`). Every
//! statement commits as it runs, so a failure leaves the statements before it applied, and the
//! error says so, with what to do.

use std::ops::Range;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::Client;

use super::runner::Runner;
use super::{diagnosis, locks, statements};
use crate::migrations::{MigrationFile, NO_TRANSACTION_MARKER};
use crate::{Error, Result};

/// Runs `file`'s statements (`spans` of its SQL) one by one, then records it with `insert`.
///
/// Postgres's own parser first reads each statement as the runner split it, so a file the
/// runner would cut elsewhere than Postgres is refused before any of it runs. The file's
/// statements share one session, as in psql: a `SET` in it applies to the statements after it.
/// Each waits at most `timeout` for a lock, and only a statement that timed out is tried again.
pub(super) fn apply(
    runner: &mut Runner,
    client: &mut Client,
    file: &MigrationFile,
    spans: &[Range<usize>],
    insert: &str,
    timeout: Duration,
) -> Result<()> {
    check_split(client, file, spans)?;
    for (n, span) in spans.iter().enumerate() {
        let statement = &file.sql[span.clone()];
        let (line, _) = start_line_column(file, span);
        // CREATE INDEX CONCURRENTLY waits for older transactions through locks, blocks no query
        // while it does, and a timeout would leave an invalid index behind.
        let wait = if is_concurrently(statement) { Duration::ZERO } else { timeout };
        let what = format!(" statement {} of {} (line {line})", n + 1, spans.len());
        runner.retrying(client, file, timeout, &what, &mut |client| {
            client.batch_execute(&format!("SET lock_timeout = {}", locks::sql_value(wait)))?;
            run_statement(client, file, spans, n, insert)
        })?;
    }
    client.batch_execute(insert).map_err(|error| Error::NotRecorded {
        label: file.label(),
        path: file.path.clone(),
        message: format!("{}; record it by hand once the cause is fixed: {insert};", crate::db::report(&error)),
    })
}

/// Asks Postgres's parser to read each statement on its own (without running it): a text it
/// reads as several statements, or as no complete one, means the runner split the file
/// elsewhere than Postgres does.
fn check_split(client: &mut Client, file: &MigrationFile, spans: &[Range<usize>]) -> Result<()> {
    for (n, span) in spans.iter().enumerate() {
        let statement = &file.sql[span.clone()];
        let Err(error) = client.prepare(statement) else { continue };
        // Other errors (a table a statement before it creates) are the analysis, not the grammar.
        if error.code() != Some(&SqlState::SYNTAX_ERROR) {
            continue;
        }
        let within = diagnosis::char_offset(&error, statement, 0)
            .unwrap_or_else(|| statement[..statements::first_token(statement)].chars().count());
        let offset = file.sql[..span.start].chars().count() + within;
        let (line, column) = diagnosis::line_column(&file.sql, offset);
        let mut message = crate::db::report(&error);
        message.push_str(&diagnosis::caret(&file.sql, Some(offset)));
        message.push_str(&format!(
            "\nPostgres's parser does not read statement {} of {} as one statement, so nothing of the file ran; \
             fix {} and migrate again.",
            n + 1,
            spans.len(),
            file.path.display()
        ));
        return Err(Error::MigrationFailed { name: file.label(), path: file.path.clone(), line, column, message });
    }
    Ok(())
}

/// Runs statement `n` of `file`; a failure says what stays applied and what to do.
fn run_statement(
    client: &mut Client,
    file: &MigrationFile,
    spans: &[Range<usize>],
    n: usize,
    insert: &str,
) -> Result<()> {
    let span = &spans[n];
    let statement = &file.sql[span.clone()];
    let Err(error) = client.batch_execute(statement) else { return Ok(()) };
    let (line, _) = start_line_column(file, span);
    if diagnosis::connection_lost(&error) {
        let state = format!(
            "The file runs without a transaction (`{NO_TRANSACTION_MARKER}`): {}; statement {} (line {line}) was \
             running and may or may not have completed, and the migration is not recorded as applied. {}",
            applied_before(n, spans, file),
            n + 1,
            what_to_do(file, insert),
        );
        return Err(diagnosis::lost(file, &error, state));
    }
    if diagnosis::lock_timeout(&error) {
        return Err(diagnosis::timed_out(
            file,
            format!(
                "so it did not run ({}, and the migration is not recorded as applied; migrating again runs the file \
                 from its first statement)",
                applied_before(n, spans, file)
            ),
        ));
    }
    // Postgres's position counts characters in the statement it was sent.
    let within = diagnosis::char_offset(&error, statement, 0)
        .unwrap_or_else(|| statement[..statements::first_token(statement)].chars().count());
    let offset = file.sql[..span.start].chars().count() + within;
    let (line_at, column_at) = diagnosis::line_column(&file.sql, offset);
    let mut message = crate::db::report(&error);
    message.push_str(&diagnosis::caret(&file.sql, Some(offset)));
    message.push_str(&diagnosis::advice(client, &error, None, statement));
    message.push_str(&format!(
        "\nThe file runs without a transaction (`{NO_TRANSACTION_MARKER}`): {}; statement {} (line {line}) \
         failed{}, and the migration is not recorded as applied. {}",
        applied_before(n, spans, file),
        n + 1,
        leftover(client, statement),
        what_to_do(file, insert),
    ));
    Err(Error::StatementFailed {
        name: file.label(),
        path: file.path.clone(),
        line: line_at,
        column: column_at,
        statement: n + 1,
        statements: spans.len(),
        message,
    })
}

/// Whether `statement` builds an index concurrently.
fn is_concurrently(statement: &str) -> bool {
    let words = statements::leading_words(statement, 4);
    matches!(words.first().map(String::as_str), Some("create" | "reindex")) && words.iter().any(|w| w == "concurrently")
}

/// Returns the line and column where the statement at `span` starts (past comments).
fn start_line_column(file: &MigrationFile, span: &Range<usize>) -> (usize, usize) {
    let code = span.start + statements::first_token(&file.sql[span.clone()]);
    diagnosis::line_column(&file.sql, file.sql[..code].chars().count())
}

/// Says which statements before the `n`th (0-based) ran and stay applied.
fn applied_before(n: usize, spans: &[Range<usize>], file: &MigrationFile) -> String {
    match n {
        0 => "no statement before it ran".to_string(),
        1 => format!("statement 1 (line {}) ran and stays applied", start_line_column(file, &spans[0]).0),
        _ => format!(
            "statements 1 to {n} (lines {} to {}) ran and stay applied",
            start_line_column(file, &spans[0]).0,
            start_line_column(file, &spans[n - 1]).0
        ),
    }
}

/// Says what a failed statement left behind, when that is known: the invalid indexes a failed
/// `CREATE INDEX CONCURRENTLY` leaves, by name.
fn leftover(client: &mut Client, statement: &str) -> String {
    if !is_concurrently(statement) {
        return String::new();
    }
    let invalid: Vec<String> = client
        .query(
            "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT i.indisvalid ORDER BY 1",
            &[],
        )
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default();
    match invalid.as_slice() {
        [] => String::new(),
        names => format!(
            " (it left the invalid index {} behind, which IF NOT EXISTS would take as built: drop it with \
             `DROP INDEX CONCURRENTLY IF EXISTS {};` before running the file again)",
            names.join(", "),
            names.join(", ")
        ),
    }
}

/// Says how to finish a migration that stopped part-way.
fn what_to_do(file: &MigrationFile, insert: &str) -> String {
    format!(
        "Make {} safe to run again from the start (CREATE INDEX CONCURRENTLY IF NOT EXISTS, ADD VALUE IF NOT \
         EXISTS, ...) and migrate again; or finish its remaining statements by hand and record it as applied: \
         {insert};",
        file.path.display()
    )
}
