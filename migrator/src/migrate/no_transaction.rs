//! Applies a migration marked `-- no-transaction`: each statement on its own, outside a
//! transaction (still under the run's advisory lock), and the history row after the last one.
//!
//! This is for what Postgres cannot run in a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`)
//! or cannot use before a commit (an enum value added with `ALTER TYPE ... ADD VALUE`). Every
//! statement commits as it runs, so a failure leaves the statements before it applied, and the
//! error says so, with what to do.

use std::ops::Range;

use postgres::Client;

use super::{diagnosis, history, statements};
use crate::migrations::{MigrationFile, NO_TRANSACTION_MARKER};
use crate::{Error, Result};

/// Runs `file`'s statements (`spans` of its SQL) one by one, then records it in `table`.
pub(super) fn apply(client: &mut Client, file: &MigrationFile, spans: &[Range<usize>], table: &str) -> Result<()> {
    let insert = history::insert_sql(table, file)?;
    for (n, span) in spans.iter().enumerate() {
        let statement = &file.sql[span.clone()];
        let Err(error) = client.batch_execute(statement) else { continue };
        let (line, _) = start_line_column(file, span);
        if diagnosis::connection_lost(&error) {
            let state = format!(
                "The file runs without a transaction (`{NO_TRANSACTION_MARKER}`): {}; statement {} (line {line}) was \
                 running and may or may not have completed, and the migration is not recorded as applied. {}",
                applied_before(n, spans, file),
                n + 1,
                what_to_do(file, &insert),
            );
            return Err(diagnosis::lost(file, &error, state));
        }
        // Postgres's position counts characters in the statement it was sent.
        let within = diagnosis::char_offset(&error, statement, 0)
            .unwrap_or_else(|| statement[..statements::first_token(statement)].chars().count());
        let offset = file.sql[..span.start].chars().count() + within;
        let (line_at, column_at) = diagnosis::line_column(&file.sql, offset);
        let mut message = crate::db::report(&error);
        message.push_str(&diagnosis::caret(&file.sql, Some(offset)));
        message.push_str(&format!(
            "\nThe file runs without a transaction (`{NO_TRANSACTION_MARKER}`): {}; statement {} (line {line}) \
             failed{}, and the migration is not recorded as applied. {}",
            applied_before(n, spans, file),
            n + 1,
            leftover(statement),
            what_to_do(file, &insert),
        ));
        return Err(Error::StatementFailed {
            name: file.label(),
            path: file.path.clone(),
            line: line_at,
            column: column_at,
            statement: n + 1,
            statements: spans.len(),
            message,
        });
    }
    client.batch_execute(&insert).map_err(|error| Error::NotRecorded {
        label: file.label(),
        path: file.path.clone(),
        message: format!("{}; record it by hand once the cause is fixed: {insert};", crate::db::report(&error)),
    })
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

/// Says what a failed statement may have left behind, when that is known.
fn leftover(statement: &str) -> &'static str {
    let words = statements::leading_words(statement, 4);
    if words.first().is_some_and(|w| w == "create") && words.iter().any(|w| w == "concurrently") {
        " (a CREATE INDEX CONCURRENTLY that fails part-way can leave an invalid index behind: drop it with DROP INDEX \
         CONCURRENTLY IF EXISTS before running the file again)"
    } else {
        ""
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
