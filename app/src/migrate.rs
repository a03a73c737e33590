//! Applies a [`MigrationSet`] to Postgres, one transaction per migration, under an advisory lock.
//!
//! This replaces refinery 0.10's runner, which commits a migration's SQL and its history row in
//! two transactions, takes no lock (two runners both apply the same migration), and reports a
//! failing statement as `db error`. The history table and its rows stay refinery's, so either
//! runner can take over a database the other migrated.

use std::time::Instant;

use postgres::error::{DbError, ErrorPosition, SqlState};
use postgres::Client;

use crate::migrations::{MigrationFile, MigrationSet, MODULES};
use crate::{Error, Result};

/// The advisory lock every runner holds for a whole run, so concurrent runners take turns.
pub const MIGRATION_LOCK_KEY: i64 = 0x5344_4d5f_4d49_4752; // "SDM_MIGR"

/// The name of refinery's history table.
pub const HISTORY_TABLE: &str = "refinery_schema_history";

/// refinery 0.10's exact DDL for its history table (with 32-bit versions).
const CREATE_HISTORY_TABLE: &str = "CREATE TABLE IF NOT EXISTS refinery_schema_history(
             version int4 PRIMARY KEY,
             name VARCHAR(255),
             applied_on VARCHAR(255),
             checksum VARCHAR(255));";

/// Opens each migration's transaction, sent in the same round trip as its SQL.
const BEGIN: &str = "BEGIN;\n";

/// Records a migration in `{table}`; `applied_on` is RFC 3339 in UTC, which refinery's parser
/// requires. Everything is qualified: the migration may have changed `search_path` (SET LOCAL).
const INSERT_HISTORY_ROW: &str = "INSERT INTO {table} (version, name, applied_on, checksum) \
     VALUES ($1, $2, pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), $3)";

/// Returns the history table's schema-qualified name, as the connection's search path finds it.
const QUALIFIED_HISTORY_TABLE: &str = "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.oid = pg_catalog.to_regclass($1)";

/// A migration this run applied.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedMigration {
    pub version: i32,
    pub name: String,
    /// Wall time of the migration's transaction, in milliseconds.
    pub millis: f64,
}

/// Where one migration stands in a database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: i32,
    pub name: String,
    pub module: Option<String>,
    /// When it was applied (refinery's RFC 3339 text), `None` when it is not applied.
    pub applied_on: Option<String>,
    /// The database recorded it as applied but no file has its version.
    pub missing_file: bool,
}

/// One row of `refinery_schema_history`.
struct HistoryRow {
    version: i32,
    name: String,
    applied_on: String,
    checksum: Option<String>,
}

/// Applies every migration of `set` that `client`'s database has not applied yet, in version order.
///
/// Each migration runs in its own transaction together with its history row, so a failure leaves
/// nothing of it behind. Concurrent runners wait for each other. Fails with
/// [`Error::MigrationFailed`] (file, line, column and Postgres's message) when SQL fails, and with
/// [`Error::History`] when an applied migration's file was changed or removed.
///
/// ```no_run
/// let set = app::migrations::MigrationSet::embedded()?;
/// let mut client = app::db::connect("postgres://localhost/sdm")?;
/// for m in app::migrate::migrate(&mut client, &set)? {
///     println!("applied V{}__{} in {:.1} ms", m.version, m.name, m.millis);
/// }
/// # Ok::<(), app::Error>(())
/// ```
pub fn migrate(client: &mut Client, set: &MigrationSet) -> Result<Vec<AppliedMigration>> {
    migrate_each(client, set, &mut |_, _| Ok(()))
}

/// Applies pending migrations like [`migrate`], calling `after_each` after each one has committed.
///
/// An error from `after_each` stops the run; the migrations committed so far stay applied.
pub fn migrate_each(
    client: &mut Client,
    set: &MigrationSet,
    after_each: &mut dyn FnMut(&mut Client, &MigrationFile) -> Result<()>,
) -> Result<Vec<AppliedMigration>> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])?;
    let result = apply_pending(client, set, after_each);
    // A broken connection has released the session lock already; report the run's own error.
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY]);
    let applied = result?;
    unlocked?;
    Ok(applied)
}

fn apply_pending(
    client: &mut Client,
    set: &MigrationSet,
    after_each: &mut dyn FnMut(&mut Client, &MigrationFile) -> Result<()>,
) -> Result<Vec<AppliedMigration>> {
    client.batch_execute(CREATE_HISTORY_TABLE)?;
    let table: String = client.query_one(QUALIFIED_HISTORY_TABLE, &[&HISTORY_TABLE])?.get(0);
    let history = read_history(client)?;
    check_history(&history, set)?;

    let mut applied = Vec::new();
    for file in set.files.iter().filter(|f| !history.iter().any(|h| h.version == f.version)) {
        let started = Instant::now();
        apply_one(client, file, &table)?;
        applied.push(AppliedMigration {
            version: file.version,
            name: file.name.clone(),
            millis: started.elapsed().as_secs_f64() * 1e3,
        });
        after_each(client, file)?;
    }
    Ok(applied)
}

/// Runs one migration and records it, in one transaction and one round trip.
fn apply_one(client: &mut Client, file: &MigrationFile, table: &str) -> Result<()> {
    if !file.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::MigrationFile {
            path: file.path.clone(),
            message: format!("migration name `{}` may hold only letters, digits and underscores", file.name),
        });
    }
    let insert = INSERT_HISTORY_ROW
        .replace("{table}", table)
        .replace("$1", &file.version.to_string())
        .replace("$2", &format!("'{}'", file.name))
        .replace("$3", &format!("'{}'", file.checksum()));
    let result = if split_statements(&file.sql).1 {
        // The newline ends a trailing `--` comment; quotes and comments are closed, so nothing
        // in the file can swallow the history row or the COMMIT.
        client.batch_execute(&format!("{BEGIN}{}\n;\n{insert};\nCOMMIT;", file.sql))
    } else {
        // An unclosed quote or comment: let Postgres judge the file on its own.
        client
            .batch_execute(&format!("{BEGIN}{}", file.sql))
            .and_then(|()| client.batch_execute(&format!("{insert};\nCOMMIT;")))
    };
    let Err(error) = result else { return Ok(()) };
    // A failed COMMIT has rolled back already; ROLLBACK then only warns.
    let _ = client.batch_execute("ROLLBACK");
    let sql_chars = file.sql.chars().count();
    let offset = error.as_db_error().and_then(|db| char_offset_of(db, &file.sql, BEGIN.len()));
    // Past the file and the "\n;\n" that ends its last statement: the history row failed.
    if offset.is_some_and(|o| o >= sql_chars + 3) {
        return Err(Error::History(format!(
            "recording migration {} ({}) in {HISTORY_TABLE} failed, so it was rolled back: {}; \
             the migration must not drop or change {HISTORY_TABLE}",
            file.label(),
            file.path.display(),
            describe(&error)
        )));
    }
    Err(sql_failure(client, file, &error, offset))
}

/// Returns what the database has applied, oldest first (no rows when there is no history table).
fn read_history(client: &mut Client) -> Result<Vec<HistoryRow>> {
    let exists: bool = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&HISTORY_TABLE])?.get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client
        .query("SELECT version, name, applied_on, checksum FROM refinery_schema_history ORDER BY version", &[])?;
    Ok(rows
        .iter()
        .map(|row| HistoryRow {
            version: row.get(0),
            name: row.get::<_, Option<String>>(1).unwrap_or_default(),
            applied_on: row.get::<_, Option<String>>(2).unwrap_or_default(),
            checksum: row.get(3),
        })
        .collect())
}

/// Fails when applied migrations no longer match their files, or a file would run out of order.
fn check_history(history: &[HistoryRow], set: &MigrationSet) -> Result<()> {
    let next_free = set.files.iter().map(|f| f.version).chain(history.iter().map(|h| h.version)).max().unwrap_or(0) + 1;
    for row in history {
        let label = format!("V{}__{}", row.version, row.name);
        let Some(file) = set.get(row.version) else {
            return Err(Error::History(format!(
                "migration {label} was applied on {} but there is no migration file with version {}: \
                 restore its file, or migrate a fresh database if the set was squashed",
                row.applied_on, row.version
            )));
        };
        let checksum = file.checksum();
        let recorded = row.checksum.as_deref().unwrap_or("");
        if file.name != row.name || recorded != checksum.to_string() {
            return Err(Error::History(format!(
                "migration {label} was changed after it was applied: the database recorded {label} \
                 (checksum {recorded}) on {}, but {} is now {} (checksum {checksum}); restore the file \
                 as it was and put the change in a new migration, V{next_free}",
                row.applied_on,
                file.path.display(),
                file.label(),
            )));
        }
    }
    if let Some(last) = history.last() {
        let applied = |v: i32| history.iter().any(|h| h.version == v);
        if let Some(file) = set.files.iter().find(|f| f.version < last.version && !applied(f.version)) {
            return Err(Error::History(format!(
                "migration {} ({}) is not applied but the later V{}__{} is: renumber it to V{next_free} \
                 so it runs after what this database already has",
                file.label(),
                file.path.display(),
                last.version,
                last.name
            )));
        }
    }
    Ok(())
}

/// Builds the error for `file`'s failed SQL, given Postgres's error `offset` in the file, if any.
///
/// Without a position, re-runs the file statement by statement in a transaction that is rolled
/// back, to find which statement fails.
fn sql_failure(client: &mut Client, file: &MigrationFile, error: &postgres::Error, offset: Option<usize>) -> Error {
    let offset = offset.or_else(|| {
        let code = error.as_db_error()?.code().clone();
        failing_statement(client, &file.sql, &code)
    });
    sql_failure_at(file, error, offset)
}

/// Builds the error for `file`, with the failure at character `offset` (0-based) of its SQL.
fn sql_failure_at(file: &MigrationFile, error: &postgres::Error, offset: Option<usize>) -> Error {
    let (line, column) = offset.map_or((1, 1), |o| line_column(&file.sql, o));
    let mut message = describe(error);
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

/// Returns Postgres's full report (severity, SQLSTATE, message, detail, hint, context).
fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => describe_db(db),
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

fn describe_db(db: &DbError) -> String {
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

/// Returns the 0-based character offset of the error in `sql`, from Postgres's error position;
/// `sql` was sent after `prefix_chars` characters of other text.
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
    for (start, end) in split_statements(sql).0 {
        let statement = &sql[start..end];
        if let Err(error) = tx.batch_execute(statement) {
            let db = error.as_db_error()?;
            if db.code() != code {
                return None;
            }
            let start_chars = sql[..start].chars().count();
            let within = char_offset_of(db, statement, 0).unwrap_or_else(|| first_token(statement));
            return Some(start_chars + within);
        }
    }
    None // dropping the transaction rolls it back
}

/// Returns the character offset of the first token of `statement`, past whitespace and comments.
fn first_token(statement: &str) -> usize {
    let mut rest = statement;
    loop {
        let trimmed = rest.trim_start();
        if let Some(comment) = trimmed.strip_prefix("--") {
            rest = comment.find('\n').map_or("", |i| &comment[i..]);
        } else if trimmed.starts_with("/*") {
            match trimmed.find("*/") {
                Some(i) => rest = &trimmed[i + 2..],
                None => break statement.len() - trimmed.len(),
            }
        } else {
            let byte = statement.len() - trimmed.len();
            break statement[..byte].chars().count();
        }
    }
}

/// Splits `sql` into statements at top-level `;`, as byte ranges (each including its `;`), and
/// says whether every quote, dollar quote and `/* */` comment is closed by the end.
///
/// Knows quoted strings (`'..'`, `E'..'`), quoted identifiers, dollar quotes and comments.
fn split_statements(sql: &str) -> (Vec<(usize, usize)>, bool) {
    let bytes = sql.as_bytes();
    let mut ranges = Vec::new();
    let mut closed = true;
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                let escapes = i > 0 && matches!(bytes[i - 1], b'E' | b'e') && (i < 2 || !is_ident(bytes[i - 2]));
                i += 1;
                while i < bytes.len() {
                    if escapes && bytes[i] == b'\\' {
                        i += 2;
                    } else if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                        } else {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                closed &= i < bytes.len();
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && !(bytes[i] == b'"' && bytes.get(i + 1) != Some(&b'"')) {
                    i += if bytes[i] == b'"' { 2 } else { 1 };
                }
                closed &= i < bytes.len();
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                closed &= depth == 0;
            }
            b'$' if i == 0 || !is_ident(bytes[i - 1]) => {
                // `$tag$` opens a dollar quote; `$1` is a parameter.
                let tag_len = bytes[i + 1..].iter().take_while(|b| is_ident(**b)).count();
                let starts_with_digit = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                if !starts_with_digit && bytes.get(i + 1 + tag_len) == Some(&b'$') {
                    let tag = &sql[i..i + tag_len + 2];
                    let body = i + tag.len();
                    match sql[body..].find(tag) {
                        Some(n) => i = body + n + tag.len(),
                        None => (i, closed) = (bytes.len(), false),
                    }
                } else {
                    i += 1;
                }
            }
            b';' => {
                ranges.push((start, i + 1));
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    if !sql[start..].trim().is_empty() {
        ranges.push((start, bytes.len()));
    }
    (ranges, closed)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Returns every migration of `set` with when it was applied, plus applied rows that lost their file.
///
/// Reads only; a database without a history table has applied nothing.
pub fn status(client: &mut Client, set: &MigrationSet) -> Result<Vec<MigrationStatus>> {
    let history = read_history(client)?;
    let mut statuses: Vec<MigrationStatus> = set
        .files
        .iter()
        .map(|file| MigrationStatus {
            version: file.version,
            name: file.name.clone(),
            module: file.module.clone(),
            applied_on: history.iter().find(|h| h.version == file.version).map(|h| h.applied_on.clone()),
            missing_file: false,
        })
        .collect();
    for row in history.iter().filter(|h| set.get(h.version).is_none()) {
        statuses.push(MigrationStatus {
            version: row.version,
            name: row.name.clone(),
            module: None,
            applied_on: Some(row.applied_on.clone()),
            missing_file: true,
        });
    }
    statuses.sort_by_key(|s| s.version);
    Ok(statuses)
}

/// Formats statuses like Django's `showmigrations`: one block per module, `[X]` when applied.
///
/// Modules come in [`MODULES`] order (a flat folder's migrations under `migrations`), migrations
/// in version order; an applied migration without a file is marked `(no file)`.
pub fn show_migrations(statuses: &[MigrationStatus]) -> String {
    let group = |s: &MigrationStatus| s.module.clone().unwrap_or_else(|| "migrations".to_string());
    let rank = |g: &str| MODULES.iter().position(|m| *m == g).unwrap_or(MODULES.len());
    let mut groups: Vec<String> = statuses.iter().map(group).collect();
    groups.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    groups.dedup();

    let mut out = String::new();
    for g in groups {
        out.push_str(&g);
        out.push('\n');
        let mut members: Vec<&MigrationStatus> = statuses.iter().filter(|s| group(s) == g).collect();
        members.sort_by_key(|s| s.version);
        for s in members {
            let mark = if s.applied_on.is_some() { 'X' } else { ' ' };
            let note = if s.missing_file { "  (no file)" } else { "" };
            out.push_str(&format!(" [{mark}] V{}__{}{note}\n", s.version, s.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(sql: &str) -> Vec<&str> {
        split_statements(sql).0.into_iter().map(|(s, e)| sql[s..e].trim()).collect()
    }

    #[test]
    fn splits_statements_outside_quotes_and_comments() {
        let sql = "CREATE TABLE a (x text DEFAULT 'a;b''c');\n-- note; here\nSELECT \"we;ird\" FROM a; /* c; /* nested; */ */\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nSELECT E'x\\';y';\nSELECT $1";
        assert_eq!(
            pieces(sql),
            vec![
                "CREATE TABLE a (x text DEFAULT 'a;b''c');",
                "-- note; here\nSELECT \"we;ird\" FROM a;",
                "/* c; /* nested; */ */\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;",
                "SELECT E'x\\';y';",
                "SELECT $1",
            ]
        );
        assert_eq!(pieces("SELECT $$a;b$$;"), vec!["SELECT $$a;b$$;"]);
        assert!(split_statements(sql).1);
        for open in ["SELECT 'a", "SELECT E'a\\'", "SELECT \"a", "/* a /* b */", "SELECT $x$ a $y$"] {
            assert!(!split_statements(open).1, "{open}");
        }
    }

    #[test]
    fn finds_line_and_column_by_characters() {
        let sql = "-- é\nSELECT 1;\n  BAD";
        let offset = sql.chars().position(|c| c == 'B').unwrap();
        assert_eq!(line_column(sql, offset), (3, 3));
        assert_eq!(line_column(sql, 0), (1, 1));
        assert_eq!(first_token("  -- c\n /* d */ SELECT"), 16);
    }

    #[test]
    fn shows_migrations_grouped_by_module() {
        let s = |version, name: &str, module: Option<&str>, applied: bool, missing_file| MigrationStatus {
            version,
            name: name.into(),
            module: module.map(str::to_string),
            applied_on: applied.then(|| "2024-01-01T00:00:00Z".to_string()),
            missing_file,
        };
        let statuses = [
            s(3, "journeys_initial", Some("journeys"), false, false),
            s(2, "evidence_initial", Some("evidence"), false, false),
            s(1, "users_initial", Some("users"), true, false),
            s(4, "users_more", Some("users"), false, false),
        ];
        assert_eq!(
            show_migrations(&statuses),
            "users\n [X] V1__users_initial\n [ ] V4__users_more\nevidence\n [ ] V2__evidence_initial\njourneys\n [ ] V3__journeys_initial\n"
        );
        let flat = [s(2, "b", None, false, false), s(1, "a", None, true, false), s(9, "gone", None, true, true)];
        assert_eq!(show_migrations(&flat), "migrations\n [X] V1__a\n [ ] V2__b\n [X] V9__gone  (no file)\n");
    }
}
