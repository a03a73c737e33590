//! Keeps each file's effect under this runner: a file's own transaction blocks go when all of it
//! can run in one transaction, a statement Postgres cannot run in one makes the file
//! `-- no-transaction`, and a file that has both is cut into several migrations. Statements are
//! found with the runner's own splitter, so a file is cut exactly where the runner would cut it.

use std::ops::Range;

use anyhow::{bail, Result};
use migrator::migrate::{split_statements, statement_words};

use super::layouts::Source;

/// One migration written from (part of) a tool's migration.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    /// The migration's SQL, with the header that says what the import changed.
    pub sql: String,
    /// Whether it runs outside a transaction.
    pub no_transaction: bool,
}

/// What a statement is, for the import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Begin,
    Commit,
    /// Postgres refuses it inside a transaction block; the reason.
    Outside(&'static str),
    Plain,
}

/// Returns what `statement` is; `later` is the text after it (an enum value added and then used
/// in the same transaction is not visible yet).
fn kind(statement: &str, later: &str) -> Kind {
    let words = statement_words(statement, 6);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let plain = |rest: &[&str]| matches!(rest, [] | ["work" | "transaction"]);
    match words.as_slice() {
        ["begin", rest @ ..] if plain(rest) || rest.first() == Some(&"isolation") => Kind::Begin,
        ["start", "transaction", ..] => Kind::Begin,
        ["commit" | "end", rest @ ..] if plain(rest) => Kind::Commit,
        ["create", "index" | "unique", ..] | ["drop", "index", ..] | ["reindex", ..]
            if words.contains(&"concurrently") =>
        {
            Kind::Outside("CREATE/DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY cannot run in a transaction")
        }
        ["create", "unique", "index", "concurrently", ..] => {
            Kind::Outside("CREATE INDEX CONCURRENTLY cannot run in a transaction")
        }
        ["vacuum", ..] => Kind::Outside("VACUUM cannot run in a transaction"),
        ["alter", "table", ..] if detaches_concurrently(statement) => {
            Kind::Outside("ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY cannot run in a transaction")
        }
        ["create" | "drop", "database" | "tablespace", ..] | ["alter", "system", ..] => {
            Kind::Outside("CREATE/DROP DATABASE, TABLESPACE and ALTER SYSTEM cannot run in a transaction")
        }
        ["alter", "type", ..] if adds_value_used_later(statement, later) => Kind::Outside(
            "ALTER TYPE ... ADD VALUE: the new value cannot be used in the transaction that added it (and before \
             Postgres 12 the statement cannot run in one at all)",
        ),
        _ => Kind::Plain,
    }
}

/// Whether `statement` (an `ALTER TABLE`) is `... DETACH PARTITION <name> CONCURRENTLY`.
fn detaches_concurrently(statement: &str) -> bool {
    use migrator::sql::lexer::{tokens, TokenKind};
    let words: Vec<String> = tokens(statement)
        .filter(|t| t.kind == TokenKind::Word)
        .map(|t| statement[t.span].to_ascii_lowercase())
        .collect();
    words.windows(2).any(|w| w[0] == "detach" && w[1] == "partition")
        && words.last().is_some_and(|w| w == "concurrently")
}

/// Whether `statement` adds an enum value (`ADD VALUE 'x'`) that `later` names as `'x'`.
fn adds_value_used_later(statement: &str, later: &str) -> bool {
    let lower = statement.to_ascii_lowercase();
    let Some(at) = lower.find("add value") else { return false };
    let rest = &statement[at..];
    let Some(open) = rest.find('\'') else { return false };
    let Some(len) = rest[open + 1..].find('\'') else { return false };
    later.contains(&rest[open..open + len + 2])
}

/// Rewrites `source` into one or more migrations that have the effect it had under its tool.
pub fn parts(source: &Source, tool: &str) -> Result<Vec<Part>> {
    let sql = source.sql.as_str();
    let spans = split_statements(sql);
    let line = |at: usize| source.first_line + sql[..at].matches('\n').count();
    let kinds: Vec<Kind> = spans.iter().map(|s| kind(&sql[s.clone()], &sql[s.end..])).collect();
    let mut depth = 0;
    let mut opened_at = 0;
    for (span, kind) in spans.iter().zip(&kinds) {
        match kind {
            Kind::Begin if depth > 0 => bail!(
                "{} line {}: BEGIN inside a transaction block the file opened earlier; Postgres would only warn \
                 and the blocks cannot be told apart: fix the file, then import again",
                source.path.display(),
                line(span.start)
            ),
            Kind::Begin => {
                depth = 1;
                opened_at = span.start;
            }
            Kind::Commit if depth == 0 => bail!(
                "{} line {}: COMMIT/END without a BEGIN before it: fix the file, then import again",
                source.path.display(),
                line(span.start)
            ),
            Kind::Commit => depth = 0,
            Kind::Outside(why) if depth > 0 => bail!(
                "{} line {}: {why}, and the file runs it inside its own BEGIN block: the tool would fail on it too",
                source.path.display(),
                line(span.start)
            ),
            _ => {}
        }
    }
    if depth > 0 {
        bail!(
            "{} line {}: a BEGIN with no COMMIT/END after it: the tool would leave the transaction open; fix the file",
            source.path.display(),
            line(opened_at)
        );
    }
    let has_blocks = kinds.contains(&Kind::Begin);
    let outside: Vec<(usize, &str)> = spans
        .iter()
        .zip(&kinds)
        .filter_map(|(s, k)| if let Kind::Outside(w) = k { Some((s.start, *w)) } else { None })
        .collect();
    let origin = format!(
        "-- Imported from {tool}: {}.",
        source.path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    );

    if source.no_transaction || !outside.is_empty() {
        if !has_blocks {
            let why = match outside.first() {
                Some((at, why)) => format!("line {}: {why}", line(*at)),
                None => format!("{tool} ran it outside a transaction (its own marker)"),
            };
            let header =
                format!("-- no-transaction\n{origin}\n-- Runs statement by statement outside a transaction: {why}.\n");
            return Ok(vec![Part { sql: format!("{header}{}", strip_marker(sql)), no_transaction: true }]);
        }
        // Blocks and statements that must run outside one: each block becomes a migration of
        // its own, and so does each run of statements between blocks.
        return Ok(cut(source, tool, &spans, &kinds, &origin));
    }
    if has_blocks {
        let kept = blank(sql, &spans, &kinds);
        let header = format!(
            "{origin}\n-- Its BEGIN/COMMIT blocks were removed: all of the file runs in one transaction here.\n"
        );
        return Ok(vec![Part { sql: format!("{header}{kept}"), no_transaction: false }]);
    }
    Ok(vec![Part { sql: sql.to_string(), no_transaction: false }])
}

/// Removes the `-- no-transaction` first line sqlx's files carry (the header carries ours).
fn strip_marker(sql: &str) -> &str {
    match sql.split_once('\n') {
        Some((first, rest)) if first.trim_end() == "-- no-transaction" => rest,
        _ => sql,
    }
}

/// Returns `sql` without its BEGIN and COMMIT statements.
fn blank(sql: &str, spans: &[Range<usize>], kinds: &[Kind]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (span, kind) in spans.iter().zip(kinds) {
        if matches!(kind, Kind::Begin | Kind::Commit) {
            out.push_str(&sql[at..span.start]);
            at = span.end;
            // The line break after the removed statement goes with it.
            if sql[at..].starts_with('\n') {
                at += 1;
            }
        }
    }
    out.push_str(&sql[at..]);
    out
}

/// Cuts a file that has both transaction blocks and statements that cannot run in one.
fn cut(source: &Source, tool: &str, spans: &[Range<usize>], kinds: &[Kind], origin: &str) -> Vec<Part> {
    let sql = source.sql.as_str();
    let mut groups: Vec<(bool, Vec<usize>)> = Vec::new();
    let mut in_block = false;
    for (i, kind) in kinds.iter().enumerate() {
        match kind {
            Kind::Begin => {
                in_block = true;
                groups.push((true, Vec::new()));
            }
            Kind::Commit => in_block = false,
            _ if in_block => groups.last_mut().expect("a block was opened").1.push(i),
            _ => match groups.last_mut() {
                Some((false, members)) => members.push(i),
                _ => groups.push((false, vec![i])),
            },
        }
    }
    let total = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(n, (block, members))| {
            let outside = members.iter().find_map(|&i| if let Kind::Outside(w) = kinds[i] { Some(w) } else { None });
            let body: String = members.iter().map(|&i| format!("{}\n", &sql[spans[i].clone()])).collect();
            let what = if block { "its BEGIN/COMMIT block" } else { "statements between its blocks" };
            let head = format!(
                "{origin}\n-- Part {} of {total}: {what}; the file mixes transaction blocks with statements that cannot \
                 run in a transaction, so each runs as a migration of its own.\n",
                n + 1
            );
            match (outside, source.no_transaction) {
                (Some(why), _) => Part {
                    sql: format!("-- no-transaction\n{head}-- Runs statement by statement: {why}.\n{body}"),
                    no_transaction: true,
                },
                (None, true) if !block => Part {
                    sql: format!("-- no-transaction\n{head}-- Runs statement by statement: {tool} ran it so.\n{body}"),
                    no_transaction: true,
                },
                _ => Part { sql: format!("{head}{body}"), no_transaction: false },
            }
        })
        .collect()
}
