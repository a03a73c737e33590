//! Runs one migration in one transaction with its history row, in one round trip, and when it
//! fails, names the failing statement from that run alone: nothing of a failed migration runs
//! twice.
//!
//! Between two statements the runner adds a mark (see `session`) that advances a sequence, which
//! a rollback does not undo; after a failure it says how many statements completed, and as which
//! role. Before the history row the runner checks that the migration is still in the transaction
//! it opened, so a statement that commits it (one the runner did not recognise) is reported as
//! such rather than recorded as applied.

use std::time::Duration;

use postgres::Client;

use super::session::{self, Marks};
use super::{diagnosis, locks, statements};
use crate::migrations::MigrationFile;
use crate::{Error, Result};

/// Where one statement of the file is in the text sent.
struct Placed {
    /// Its first character in the text sent.
    sent: usize,
    /// Its first character in the file.
    file: usize,
    /// Its length, in characters.
    chars: usize,
    /// Its bytes in the file's text as sent.
    bytes: std::ops::Range<usize>,
    /// Whether it holds more than whitespace and comments.
    code: bool,
}

/// The text sent for one migration, and where each of its statements went.
struct Batch {
    text: String,
    placed: Vec<Placed>,
    /// The first character after the file's text (marks and the history row follow).
    tail: usize,
}

/// Says why a failure without a position names no statement, for an unclosed quote.
const NO_POSITION: &str = "Postgres gave no position";

/// Says why a failure without a position names no statement, without the progress sequence.
const UNNUMBERED: &str = "Postgres gave no position, and the runner could not number the statements: the role may \
                          not create a temporary sequence";

/// Says why a failure without a position names no statement, for a file that runs `DISCARD`.
const UNMARKED: &str = "Postgres gave no position, and the runner did not number the statements: the file runs \
                        DISCARD (or names the runner's sdm_migration_ sequences), which would drop what numbers them";

/// Says where a failure after the history row happened.
const AT_COMMIT: &str = "at COMMIT, where Postgres checks deferred constraints, after every statement ran";

/// The text of the check that the migration is still in the runner's transaction.
const ENDED_OUTSIDE: &str = "sdm: the migration ended the transaction the runner opened for it";

/// Builds what is sent for `sent` (the file's SQL, its wrapper blanked): the transaction, the
/// lock timeout, each statement with a mark after it when `marks`, the check and the history row.
fn batch(sent: &str, insert: &str, timeout: Duration, marks: Option<Marks>) -> Batch {
    let mut text = format!(
        "BEGIN; SET LOCAL lock_timeout = {}; \
         SELECT pg_catalog.set_config('sdm.migration_xact', pg_catalog.txid_current()::text, true);",
        locks::sql_value(timeout)
    );
    if let Some(marks) = &marks {
        text.push_str(&marks.role_now());
    }
    text.push_str(";\n");
    let mut chars = text.chars().count();
    let mut placed = Vec::new();
    let mut file_at = 0;
    let mut last_end = 0;
    for span in statements::split(sent).spans() {
        let piece = &sent[last_end..span.end];
        last_end = span.end;
        let piece_chars = piece.chars().count();
        let code = statements::has_code(piece);
        placed.push(Placed { sent: chars, file: file_at, chars: piece_chars, bytes: span.clone(), code });
        text.push_str(piece);
        chars += piece_chars;
        file_at += piece_chars;
        if let Some(marks) = marks.filter(|_| code) {
            let role = if session::may_change_role(piece) { format!("{};", marks.role_now()) } else { String::new() };
            // The newline ends a trailing `--` comment, the `;` a last statement without one.
            let mark = format!("\n;{};{role}\n", marks.statement_done());
            chars += mark.chars().count();
            text.push_str(&mark);
        }
    }
    let rest = &sent[last_end..];
    text.push_str(rest);
    chars += rest.chars().count();
    let tail = chars;
    text.push_str(&format!(
        "\n;\nSET SESSION AUTHORIZATION DEFAULT; RESET ROLE; SET LOCAL statement_timeout = 0;\n\
         DO $sdm$ BEGIN IF pg_catalog.current_setting('sdm.migration_xact', true) IS DISTINCT FROM \
         pg_catalog.txid_current()::text THEN RAISE EXCEPTION '{ENDED_OUTSIDE}'; END IF; END $sdm$;\n\
         RESET ALL; SET LOCAL lock_timeout = {timeout};\n\
         {insert};\n{last};\nCOMMIT;",
        timeout = locks::sql_value(timeout),
        last = marks.map_or("SELECT 1".to_string(), |m| m.statement_done())
    ));
    Batch { text, placed, tail }
}

/// Runs `file` (`sent`: its SQL as sent, with the same positions) and its history row in one
/// transaction, waiting at most `timeout` for each lock; `marks` are the progress sequences, if
/// the session has them.
pub(super) fn apply(
    client: &mut Client,
    file: &MigrationFile,
    sent: &str,
    insert: &str,
    timeout: Duration,
    marks: Option<Marks>,
) -> Result<()> {
    let closed = statements::split(sent).closed;
    let result = if closed {
        let batch = batch(sent, insert, timeout, marks);
        client.batch_execute(&batch.text).map_err(|error| (error, Some(batch)))
    } else {
        // An unclosed quote or comment: Postgres refuses the whole text before running any of it.
        client
            .batch_execute(&format!("BEGIN; SET LOCAL lock_timeout = {};\n{sent}", locks::sql_value(timeout)))
            .and_then(|()| client.batch_execute(&format!("{insert};\nCOMMIT;")))
            .map_err(|error| (error, None))
    };
    let Err((error, batch)) = result else { return Ok(()) };
    if diagnosis::connection_lost(&error) {
        let state = format!(
            "{} and its history row are one transaction, so the database has all of it or none of it: once the \
             server is back, `sdm showmigrations` shows it as applied ([X]) if it committed, and `sdm migrate` runs \
             it again if it did not",
            file.label()
        );
        return Err(diagnosis::lost(file, &error, state));
    }
    // A failed COMMIT has rolled back already; ROLLBACK then only warns.
    let _ = client.batch_execute("ROLLBACK");
    if diagnosis::lock_timeout(&error) {
        return Err(diagnosis::timed_out(file, "so it was rolled back and nothing of it is applied".into()));
    }
    let progress = marks.filter(|_| closed).and_then(|m| m.progress(client));
    let Some(batch) = batch else {
        return Err(diagnosis::sql_failure(
            client,
            file,
            &error,
            diagnosis::char_offset(&error, sent, 0),
            NO_POSITION,
            None,
        ));
    };
    if error.as_db_error().is_some_and(|db| db.message() == ENDED_OUTSIDE) {
        let ran = progress.as_ref().map_or(String::new(), |p| format!(" (statements 1 to {} ran)", p.done));
        return Err(Error::MigrationFailed {
            name: file.label(),
            path: file.path.clone(),
            line: 1,
            column: 1,
            message: format!(
                "a statement of the file ended the transaction the runner opened for it (a COMMIT, END or ROLLBACK \
                 the runner did not recognise as one): what ran before that statement{ran} is committed, what ran \
                 after it was rolled back, and the migration is not recorded as applied. Undo or finish it by hand, \
                 then remove the statement that ends the transaction"
            ),
        });
    }
    let offset = position_in_file(&error, &batch, sent);
    match offset {
        Ok(Some(offset)) => {
            return Err(diagnosis::sql_failure(client, file, &error, Some(offset), "", progress.and_then(|p| p.role)))
        }
        Err(Outside::Mark(offset)) => {
            // Nothing ran: Postgres parses the whole text before it runs any of it.
            return Err(diagnosis::sql_failure(client, file, &error, Some(offset), "", None));
        }
        Err(Outside::Tail) => return Err(history_write(file, &error)),
        Ok(None) => {}
    }
    // No position: the marks say which statement failed.
    let Some(progress) = progress else {
        let why = if session::may_drop_marks(sent) { UNMARKED } else { UNNUMBERED };
        return Err(diagnosis::sql_failure(client, file, &error, None, why, None));
    };
    let statements = batch.placed.iter().filter(|p| p.code).count();
    match batch.placed.iter().filter(|p| p.code).nth(progress.done) {
        Some(failing) => {
            let statement = &sent[failing.bytes.clone()];
            let within = statement[..statements::first_token(statement)].chars().count();
            Err(diagnosis::sql_failure(client, file, &error, Some(failing.file + within), "", progress.role))
        }
        // The check and the history row come before the last mark; COMMIT comes after it.
        None if progress.done == statements => Err(history_write(file, &error)),
        None => Err(diagnosis::sql_failure(client, file, &error, None, AT_COMMIT, progress.role)),
    }
}

/// Where an error position outside the file's own text fell.
enum Outside {
    /// In the mark after a statement, which Postgres reads as going on (an unclosed parenthesis):
    /// the 0-based character offset in the file of that statement's last character.
    Mark(usize),
    /// After the file: the check or the history row.
    Tail,
}

/// Returns the 0-based character offset in the file of Postgres's position in the text sent,
/// `Ok(None)` without a position.
fn position_in_file(error: &postgres::Error, batch: &Batch, sent: &str) -> Result<Option<usize>, Outside> {
    let Some(db) = error.as_db_error() else { return Ok(None) };
    match db.position() {
        None => Ok(None),
        Some(postgres::error::ErrorPosition::Internal { .. }) => Ok(diagnosis::char_offset_of(db, sent, 0)),
        Some(postgres::error::ErrorPosition::Original(position)) => {
            let at = (*position as usize).saturating_sub(1);
            if at >= batch.tail {
                return Err(Outside::Tail);
            }
            match batch.placed.iter().find(|p| p.sent <= at && at < p.sent + p.chars) {
                Some(p) => Ok(Some(p.file + at - p.sent)),
                None if batch.placed.first().is_some_and(|p| at < p.sent) => Ok(None),
                None => {
                    let before = batch.placed.iter().rev().find(|p| p.sent + p.chars <= at && p.code);
                    Err(Outside::Mark(before.map_or(0, |p| {
                        let trimmed = sent[p.bytes.clone()].trim_end().chars().count();
                        p.file + trimmed.saturating_sub(1)
                    })))
                }
            }
        }
    }
}

/// The error for a migration whose history row could not be written.
fn history_write(file: &MigrationFile, error: &postgres::Error) -> Error {
    Error::HistoryWrite { label: file.label(), path: file.path.clone(), message: crate::db::report(error) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_each_statement_and_marks_after_it() {
        let sent = "CREATE TABLE é (i int); -- c\nSELECT 1";
        let marks = Marks::for_test(7, 8);
        let batch = batch(sent, "INSERT INTO h VALUES (1)", Duration::from_millis(500), Some(marks));
        assert_eq!(batch.placed.len(), 2);
        for p in &batch.placed {
            let in_batch: String = batch.text.chars().skip(p.sent).take(p.chars).collect();
            assert_eq!(in_batch, sent[p.bytes.clone()], "each statement is sent as it is written");
            assert_eq!(sent[..p.bytes.start].chars().count(), p.file);
        }
        assert!(batch.text.contains("lock_timeout = '500ms'"));
        assert_eq!(batch.text.matches(&marks.statement_done()).count(), 3, "{}", batch.text);
        let after: String = batch.text.chars().skip(batch.tail).collect();
        assert!(after.contains("INSERT INTO h") && after.ends_with("COMMIT;"), "{after}");
        assert!(!super::batch(sent, "I", Duration::ZERO, None).text.contains("setval"));
    }
}
