//! Decides how a migration's SQL is sent: finds the statements that control transactions
//! (`BEGIN`, `COMMIT`, `ROLLBACK`, ...) with the lexer, accepts one `BEGIN ... COMMIT` around the
//! whole file, and refuses any other before anything runs.
//!
//! A `COMMIT` in the middle of a file would commit half a migration: a later failure could then
//! not roll back what came before it, and the history would not record what was applied.

use std::borrow::Cow;
use std::ops::Range;

use super::statements::TokenKind;
use super::{diagnosis, statements};
use crate::migrations::{MigrationFile, TransactionMode, NO_TRANSACTION_MARKER};
use crate::{Error, Result};

/// How the runner applies one migration.
#[derive(Debug)]
pub(super) enum Plan<'a> {
    /// In the runner's own transaction with the history row: the file's SQL, with an outer
    /// `BEGIN ... COMMIT` blanked out (spaces, so positions stay exact).
    OneTransaction(Cow<'a, str>),
    /// Statement by statement outside a transaction (`-- no-transaction`): the statements' spans.
    NoTransaction(Vec<Range<usize>>),
}

/// What a statement that controls transactions does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Control {
    /// `BEGIN` or `START TRANSACTION`, without options.
    Begin,
    /// `BEGIN` or `START TRANSACTION` with options (isolation level, read only, ...).
    BeginWithOptions,
    /// `COMMIT` or `END`, without options.
    Commit,
    /// `COMMIT AND CHAIN`, `ROLLBACK`, `ABORT`, ...: ends the transaction some other way.
    End,
    /// `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`: work inside the migration's transaction.
    Savepoint,
    /// `PREPARE TRANSACTION`, `COMMIT PREPARED`, `ROLLBACK PREPARED`: two-phase commit.
    TwoPhase,
}

/// Returns what `statement` does to transactions, if it is a statement that controls them.
fn control(statement: &str) -> Option<Control> {
    let words = statements::leading_words(statement, 4);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    // The optional noise words of BEGIN, COMMIT, END, ROLLBACK and ABORT.
    let plain = |rest: &[&str]| matches!(rest, [] | ["work" | "transaction"]);
    Some(match words.as_slice() {
        ["prepare", "transaction", ..] | ["commit" | "rollback", "prepared", ..] => Control::TwoPhase,
        ["begin", rest @ ..] if plain(rest) => Control::Begin,
        ["start", "transaction"] => Control::Begin,
        ["begin", ..] | ["start", "transaction", ..] => Control::BeginWithOptions,
        ["commit" | "end", rest @ ..] if plain(rest) => Control::Commit,
        ["savepoint" | "release", ..] => Control::Savepoint,
        ["rollback", rest @ ..] if rest.contains(&"to") => Control::Savepoint,
        ["commit" | "end" | "rollback" | "abort", ..] => Control::End,
        _ => return None,
    })
}

/// The settings that change how Postgres reads the text after them, each with the values the
/// runner reads files with (and pins): pg_dump's `SET standard_conforming_strings = on;` and
/// `SET client_encoding = 'UTF8';` keep them as they are.
const READING_SETTINGS: &[(&str, &[&str])] = &[
    ("standard_conforming_strings", &["on", "true", "yes", "1", "'on'", "'true'"]),
    ("client_encoding", &["'utf8'", "utf8", "'utf-8'", "'unicode'", "unicode"]),
];

/// Returns the setting among [`READING_SETTINGS`] that `statement` touches other than by setting
/// it to the value the runner reads files with.
fn changes_reading(statement: &str) -> Option<&'static str> {
    let (setting, kept) = READING_SETTINGS.iter().find(|(setting, _)| statements::mentions(statement, setting))?;
    let words: Vec<String> = statements::tokens(statement)
        .filter(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment))
        .map(|t| statement[t.span].to_ascii_lowercase())
        .collect();
    if !words.iter().any(|w| w.trim_matches(|c| c == '\'' || c == '"') == *setting) {
        return None;
    }
    let words: Vec<&str> = words.iter().map(String::as_str).filter(|w| *w != ";").collect();
    let rest = match words.as_slice() {
        ["set", "session" | "local", rest @ ..] | ["set", rest @ ..] => rest,
        _ => return Some(setting),
    };
    match rest {
        [name, "=" | "to", value] if name == setting && kept.contains(value) => None,
        _ => Some(setting),
    }
}

/// Returns how to apply `file`, or refuses it (naming the line) when it controls transactions
/// in a way that would leave part of it applied.
pub(super) fn plan(file: &MigrationFile) -> Result<Plan<'_>> {
    let sql = file.sql.as_str();
    let spans: Vec<Range<usize>> =
        statements::split(sql).spans().filter(|s| statements::has_code(&sql[s.clone()])).collect();
    let controls: Vec<(usize, Control)> =
        spans.iter().enumerate().filter_map(|(i, s)| Some((i, control(&sql[s.clone()])?))).collect();

    if let Some((span, setting)) = spans.iter().find_map(|s| Some((s, changes_reading(&sql[s.clone()])?))) {
        let why = if setting == "client_encoding" {
            "the runner sends every file as UTF-8, as it is read, with client_encoding UTF8 pinned for every \
             migration; another encoding part-way would make Postgres read the bytes after it as other characters \
             (some of which are quotes or backslashes). Keep the file UTF-8 and leave client_encoding alone"
        } else {
            "the runner reads every file, as Postgres does by default, with standard_conforming_strings on \
             (a backslash in '...' is a backslash), and pins it for every migration; turning it off part-way would \
             make Postgres read the quotes after it differently from the runner. Write strings that need escapes \
             as E'...' instead"
        };
        return Err(refusal(file, span, why));
    }

    if file.transaction_mode() == TransactionMode::NoTransaction {
        if let Some(&(i, _)) = controls.first() {
            return Err(refusal(
                file,
                &spans[i],
                &format!(
                    "the file runs without a transaction (its first line is `{NO_TRANSACTION_MARKER}`), \
                     statement by statement, so it cannot control transactions itself; move the statements \
                     that must commit together into a migration of their own (without `{NO_TRANSACTION_MARKER}`, \
                     so it runs in one transaction)"
                ),
            ));
        }
        return Ok(Plan::NoTransaction(spans));
    }

    let last = spans.len().saturating_sub(1);
    let wrapped = spans.len() >= 2
        && controls.first().is_some_and(|&(i, c)| i == 0 && c == Control::Begin)
        && controls.last().is_some_and(|&(i, c)| i == last && c == Control::Commit);
    let wrapper = |i: usize| wrapped && (i == 0 || i == last);
    let offending = controls.iter().find(|&&(i, c)| c != Control::Savepoint && !wrapper(i));
    if let Some(&(i, kind)) = offending {
        return Err(refusal(file, &spans[i], &advice(kind, i == 0)));
    }
    if !wrapped {
        return Ok(Plan::OneTransaction(Cow::Borrowed(sql)));
    }
    // The runner opens and commits the transaction itself; the file's own BEGIN and COMMIT
    // become spaces, so every later character keeps its line and column.
    let mut sent = sql.to_string();
    for span in [&spans[0], &spans[last]] {
        let code = span.start + statements::first_token(&sql[span.clone()]);
        sent.replace_range(code..span.end, &" ".repeat(span.end - code));
    }
    Ok(Plan::OneTransaction(Cow::Owned(sent)))
}

/// Says why a statement of kind `kind` cannot stay, and what to do instead.
fn advice(kind: Control, first: bool) -> String {
    const HOW: &str = "every migration runs in one transaction that the runner opens and commits with its \
                       history row, so the file needs no BEGIN or COMMIT (a single BEGIN as its first statement \
                       and COMMIT as its last are accepted); split it into one migration per transaction, or \
                       make `-- no-transaction` its first line to run its statements one by one outside a \
                       transaction";
    match kind {
        Control::Begin if first => {
            format!("this BEGIN is not matched by a COMMIT as the file's last statement, so it does not wrap the whole file; {HOW}")
        }
        Control::Begin | Control::Savepoint => {
            format!("this BEGIN opens a transaction part-way through the file; {HOW}")
        }
        Control::Commit | Control::End => format!(
            "this statement ends the migration's transaction part-way through the file: the statements before \
             it would stay applied if a later one failed, and the migration would not be recorded; {HOW}"
        ),
        Control::BeginWithOptions => "BEGIN with options cannot be kept, as the runner opens the migration's \
                                      transaction itself: remove the BEGIN and its COMMIT, and put the options \
                                      in `SET TRANSACTION ...` as the file's first statement"
            .to_string(),
        Control::TwoPhase => "two-phase commit (PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED) has no \
                              place in a migration, which the runner commits with its history row: remove the \
                              statement"
            .to_string(),
    }
}

/// Builds the refusal of `file` at the statement `span`, before anything of the run was applied.
fn refusal(file: &MigrationFile, span: &Range<usize>, why: &str) -> Error {
    let statement = &file.sql[span.clone()];
    let code = span.start + statements::first_token(statement);
    let (line, column) = diagnosis::line_column(&file.sql, file.sql[..code].chars().count());
    let text = statement[code - span.start..].trim_end().trim_end_matches(';').trim_end();
    Error::MigrationRefused {
        name: file.label(),
        path: file.path.clone(),
        line,
        column,
        message: format!("`{text}`: {why}. Nothing was applied."),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn file(sql: &str) -> MigrationFile {
        MigrationFile {
            version: 3,
            name: "x".into(),
            module: None,
            path: PathBuf::from("migrations/V3__x.sql"),
            sql: sql.into(),
            keep: false,
        }
    }

    fn sent(sql: &str) -> String {
        match plan(&file(sql)).unwrap_or_else(|e| panic!("{e}")) {
            Plan::OneTransaction(sent) => sent.into_owned(),
            Plan::NoTransaction(_) => panic!("expected one transaction"),
        }
    }

    fn refused(sql: &str) -> (usize, usize, String) {
        match plan(&file(sql)) {
            Err(Error::MigrationRefused { line, column, message, .. }) => (line, column, message),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn classifies_transaction_control_like_postgres() {
        use Control as C;
        for (statement, kind) in [
            ("BEGIN;", Some(C::Begin)),
            ("begin work", Some(C::Begin)),
            ("START TRANSACTION;", Some(C::Begin)),
            ("BEGIN ISOLATION LEVEL SERIALIZABLE;", Some(C::BeginWithOptions)),
            ("START TRANSACTION READ ONLY", Some(C::BeginWithOptions)),
            ("COMMIT;", Some(C::Commit)),
            ("END TRANSACTION;", Some(C::Commit)),
            ("COMMIT AND CHAIN;", Some(C::End)),
            ("ROLLBACK;", Some(C::End)),
            ("ABORT;", Some(C::End)),
            ("SAVEPOINT a;", Some(C::Savepoint)),
            ("RELEASE SAVEPOINT a;", Some(C::Savepoint)),
            ("ROLLBACK TO SAVEPOINT a;", Some(C::Savepoint)),
            ("ROLLBACK WORK TO a;", Some(C::Savepoint)),
            ("PREPARE TRANSACTION 'x';", Some(C::TwoPhase)),
            ("COMMIT PREPARED 'x';", Some(C::TwoPhase)),
            ("ROLLBACK PREPARED 'x';", Some(C::TwoPhase)),
            ("PREPARE q AS SELECT 1;", None),
            ("SELECT 'COMMIT';", None),
            ("-- COMMIT\nSELECT 1;", None),
            ("DO $$ BEGIN COMMIT; END $$;", None),
            ("CREATE TABLE \"begin\" (id int);", None),
        ] {
            assert_eq!(control(statement), kind, "{statement}");
        }
    }

    #[test]
    fn accepts_one_wrapper_and_keeps_every_position() {
        let sql = "-- wrapped\nBEGIN;\nCREATE TABLE a (id int);\nCOMMIT; -- done\n";
        let blanked = sent(sql);
        assert_eq!(blanked, "-- wrapped\n      \nCREATE TABLE a (id int);\n        -- done\n");
        assert_eq!(blanked.len(), sql.len());
        assert_eq!(sent("START TRANSACTION;\nSELECT 1;\nEND"), "                  \nSELECT 1;\n   ");
        // Quotes, comments, dollar quotes and function bodies hide what looks like control.
        let quiet = "SELECT 'COMMIT;'; /* ROLLBACK; */ SELECT $$ COMMIT; $$;\n\
                     CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n\
                     SAVEPOINT s; RELEASE s;";
        assert_eq!(sent(quiet), quiet);
    }

    #[test]
    fn refuses_control_that_splits_the_migration_naming_the_line() {
        let (line, column, message) =
            refused("BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nSELECT 1;\nCOMMIT;\n");
        assert_eq!((line, column), (3, 1), "{message}");
        assert!(message.starts_with("`COMMIT`: this statement ends the migration's transaction"), "{message}");
        assert!(message.contains("-- no-transaction") && message.ends_with("Nothing was applied."), "{message}");
        let (line, column, message) = refused("CREATE TABLE a (id int);\n  BEGIN;\nSELECT 1;\n");
        assert_eq!((line, column), (2, 3), "{message}");
        assert!(message.starts_with("`BEGIN`: this BEGIN opens a transaction part-way"), "{message}");
        let (line, _, message) = refused("BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;");
        assert_eq!(line, 1);
        assert!(message.contains("SET TRANSACTION"), "{message}");
        assert_eq!(refused("SELECT 1;\nROLLBACK;").0, 2);
        let (line, _, message) = refused("BEGIN;\nSELECT 1;");
        assert_eq!(line, 1, "a BEGIN without its COMMIT is no wrapper");
        assert!(message.contains("not matched by a COMMIT"), "{message}");
        assert_eq!(refused("SELECT 1;\nPREPARE TRANSACTION 'p';\n").0, 2);
    }

    #[test]
    fn refuses_turning_standard_conforming_strings_off() {
        for sql in [
            "SET standard_conforming_strings = off;\nSELECT 'a\\';",
            "SELECT 1;\nset local standard_conforming_strings to false;",
            "SELECT pg_catalog.set_config('standard_conforming_strings', 'off', false);",
            "ALTER DATABASE d SET standard_conforming_strings = off;",
        ] {
            let (_, _, message) = refused(sql);
            assert!(message.contains("standard_conforming_strings on"), "{sql}: {message}");
        }
        assert_eq!(refused("SELECT 1;\nSET standard_conforming_strings = off;").0, 2);
        for sql in
            ["SET standard_conforming_strings = on;\nSELECT 1;", "SET SESSION standard_conforming_strings TO 'on'"]
        {
            sent(sql);
        }
    }

    #[test]
    fn a_no_transaction_file_runs_statement_by_statement_and_controls_nothing() {
        let sql = "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- the end\n";
        let Plan::NoTransaction(spans) = plan(&file(sql)).unwrap() else { panic!("expected statements") };
        assert_eq!(spans.len(), 1, "a comment after the last statement is no statement");
        assert!(sql[spans[0].clone()].trim().ends_with("(a);"));
        let (line, _, message) = refused("-- no-transaction\nSELECT 1;\nCOMMIT;\n");
        assert_eq!(line, 3);
        assert!(message.contains("runs without a transaction"), "{message}");
    }
}
