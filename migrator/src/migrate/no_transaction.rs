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
use super::{diagnosis, history, locks, resume, statements};
use crate::migrations::{MigrationFile, NO_TRANSACTION_MARKER};
use crate::{Error, Result};

/// Runs `file`'s statements (`spans` of its SQL) one by one, then records it with `insert`.
///
/// Postgres's own parser first reads each statement as the runner split it, so a file the
/// runner would cut elsewhere than Postgres is refused before any of it runs. The file's
/// statements share one session, as in psql: a `SET` in it applies to the statements after it.
/// Each waits at most `timeout` for a lock, and only a statement that timed out is tried again.
/// A file that stopped at a failing statement in an earlier run, unchanged since, resumes there
/// (see `resume`); `history` is the history table, next to which its progress is kept.
pub(super) fn apply(
    runner: &mut Runner,
    client: &mut Client,
    file: &MigrationFile,
    spans: &[Range<usize>],
    history: &str,
    timeout: Duration,
) -> Result<()> {
    let insert = &history::insert_sql(history, file)?;
    let progress = &resume::table(history);
    check_split(client, file, spans)?;
    let earlier = resume::done(client, progress, file);
    let start = earlier.unwrap_or(0).min(spans.len());
    if start > 0 {
        runner.tell(&format!(
            "{} resumes at statement {} of {} (line {}): statements 1 to {start} ran in an earlier run that stopped \
             there, and the file is unchanged since",
            file.label(),
            start + 1,
            spans.len(),
            start_line_column(file, &spans[start.min(spans.len() - 1)]).0
        ));
    }
    for (n, span) in spans.iter().enumerate().skip(start) {
        let statement = &file.sql[span.clone()];
        let (line, _) = start_line_column(file, span);
        // CREATE INDEX CONCURRENTLY waits for older transactions through locks, blocks no query
        // while it does, and a timeout would leave an invalid index behind.
        let wait = if is_concurrently(statement) { Duration::ZERO } else { timeout };
        let what = format!(" statement {} of {} (line {line})", n + 1, spans.len());
        runner.retrying(client, file, timeout, &what, &mut |client| {
            client.batch_execute(&format!("SET lock_timeout = {}", locks::sql_value(wait)))?;
            run_statement(client, file, spans, n, insert, progress)
        })?;
    }
    let forget = if earlier.is_some() { format!("{};\n", resume::forget_sql(progress, file)) } else { String::new() };
    let recorded = client.batch_execute(&format!("BEGIN;\n{insert};\n{forget}COMMIT;"));
    if recorded.is_err() {
        let _ = client.batch_execute("ROLLBACK");
    }
    recorded.map_err(|error| Error::NotRecorded {
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
        if diagnosis::connection_lost(&error) {
            let state = "It was lost while Postgres's parser read the file's statements, before any of them ran, so \
                         nothing of it is applied; migrate again once the server is back"
                .to_string();
            return Err(diagnosis::lost(file, &error, state));
        }
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

/// Runs statement `n` of `file`; a failure records how far the file got in `progress` and says
/// what stays applied and what to do.
fn run_statement(
    client: &mut Client,
    file: &MigrationFile,
    spans: &[Range<usize>],
    n: usize,
    insert: &str,
    progress: &str,
) -> Result<()> {
    let span = &spans[n];
    let statement = &file.sql[span.clone()];
    let Err(error) = client.batch_execute(statement) else { return Ok(()) };
    let (line, _) = start_line_column(file, span);
    // Nothing to resume before the first statement; a lost connection records nothing.
    let resumes = n > 0 && !diagnosis::connection_lost(&error) && resume::record(client, progress, file, n);
    let resume_at = resumes.then_some(n);
    if diagnosis::connection_lost(&error) {
        let state = format!(
            "The file runs without a transaction (`{NO_TRANSACTION_MARKER}`): {}; statement {} (line {line}) was \
             running and may or may not have completed, and the migration is not recorded as applied. {}",
            applied_before(n, spans, file),
            n + 1,
            what_to_do(file, insert, None),
        );
        return Err(diagnosis::lost(file, &error, state));
    }
    if diagnosis::lock_timeout(&error) {
        return Err(diagnosis::timed_out(
            file,
            format!(
                "so it did not run ({}, and the migration is not recorded as applied; {})",
                applied_before(n, spans, file),
                match resume_at {
                    Some(n) => format!("migrating again resumes at statement {} while the file is unchanged", n + 1),
                    None => "migrating again runs the file from its first statement".to_string(),
                }
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
        what_to_do(file, insert, resume_at),
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

/// Says how to finish a migration that stopped part-way; `resume_at` is the 0-based statement a
/// later run resumes at, when the progress was recorded.
fn what_to_do(file: &MigrationFile, insert: &str, resume_at: Option<usize>) -> String {
    let path = file.path.display();
    let again = match resume_at {
        Some(n) => format!(
            "Once the cause is fixed outside the file (a grant, an invalid index dropped, a lock let go), migrating \
             again resumes at statement {} while {path} is unchanged; a changed file runs from its first statement, \
             so make it safe to run again from the start (CREATE INDEX CONCURRENTLY IF NOT EXISTS, ADD VALUE IF NOT \
             EXISTS, ...)",
            n + 1
        ),
        None => format!(
            "Make {path} safe to run again from the start (CREATE INDEX CONCURRENTLY IF NOT EXISTS, ADD VALUE IF NOT \
             EXISTS, ...) and migrate again"
        ),
    };
    format!("{again}; or finish its remaining statements by hand and record it as applied: {insert};")
}
