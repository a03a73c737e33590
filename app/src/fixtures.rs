//! Journey fixtures: reads and validates `fixtures/journeys/*.json` and turns them into the SQL
//! of the `load_journeys` migration (or runs that SQL against a live database).
//!
//! Every error names the fixture file, line and column, and says what to fix. Loading is
//! all-or-nothing: every file is read and checked before anything is returned.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use postgres::error::SqlState;
use serde::{Deserialize, Serialize};

use crate::migrations::KEEP_MARKER;
use crate::{Error, Result};

/// The command that regenerates the `load_journeys` migration from the fixtures.
pub const REGENERATE_COMMAND: &str = "cargo xtask fixtures";

/// The `load_journeys` migration's name, as refinery sees it (the part after `V<n>__`).
pub const MIGRATION_NAME: &str = "load_journeys";

/// One journey fixture file: a decision a patient works through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journey {
    /// Stable identifier used in URLs and by conversations, `[a-z0-9-]+`.
    pub slug: String,
    pub title: String,
    pub description: String,
    /// The choices the patient weighs; stored as `journeys_journey.options`.
    pub options: Vec<JourneyOption>,
    /// Asked before the first chat; stored as `journeys_journey.onboarding_questions`.
    pub onboarding_questions: Vec<OnboardingQuestion>,
    /// What a good conversation about this journey covers; stored in `memory_conversation_point`.
    pub conversation_points: Vec<ConversationPoint>,
}

/// One of a journey's treatment or management options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneyOption {
    pub id: String,
    pub label: String,
    pub summary: String,
}

/// A question asked when a patient starts a journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingQuestion {
    pub id: String,
    pub prompt: String,
    pub kind: QuestionKind,
    /// The answers to pick from; required for `choice`, absent for `scale` and `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
}

/// How an onboarding question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionKind {
    /// A whole number from 0 to 10.
    Scale,
    /// One of the question's `choices`.
    Choice,
    /// Free text.
    Text,
}

/// A topic a conversation about the journey should cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationPoint {
    /// Stable id within the journey, e.g. `pain-goals`; `[a-z0-9-]+`.
    pub id: String,
    pub title: String,
    pub description: String,
    /// Lowercase phrases; a user message containing one of them covers the point.
    pub covered_when: Vec<String>,
}

/// Reads every `*.json` file in `dir` (in file-name order), validates each journey and the set as
/// a whole, and returns the journeys sorted by slug.
///
/// Fails on the first problem found, naming the file, line and column: invalid JSON, unknown or
/// missing fields, empty or malformed slugs and ids, duplicate ids within a journey, duplicate
/// slugs across files, empty `covered_when` lists. Nothing is returned unless every file is valid.
///
/// ```no_run
/// let journeys = app::fixtures::load_dir(std::path::Path::new("fixtures/journeys"))?;
/// println!("{} journeys", journeys.len());
/// # Ok::<(), app::Error>(())
/// ```
pub fn load_dir(dir: &Path) -> Result<Vec<Journey>> {
    let mut loaded: Vec<LoadedJourney> = Vec::new();
    for path in json_files(dir)? {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        loaded.push(parse(&path, &text)?);
    }

    let mut first_by_slug: HashMap<&str, &LoadedJourney> = HashMap::new();
    for current in &loaded {
        if let Some(first) = first_by_slug.get(current.journey.slug.as_str()) {
            let (first_line, first_column) = first.positions.of("/slug");
            return Err(current.error(
                "/slug",
                format!(
                    "journey slug `{}` is already used by {}:{first_line}:{first_column}; give each journey its own slug",
                    current.journey.slug,
                    first.path.display()
                ),
            ));
        }
        first_by_slug.insert(&current.journey.slug, current);
    }

    let mut journeys: Vec<Journey> = loaded.into_iter().map(|l| l.journey).collect();
    journeys.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(journeys)
}

/// Parses and validates one fixture file's text; `path` is only used in messages.
pub fn parse_journey(path: &Path, text: &str) -> Result<Journey> {
    parse(path, text).map(|l| l.journey)
}

/// Returns the full text of the `load_journeys` migration for `journeys`: a header naming
/// `cargo xtask fixtures`, the squash keep marker, then one upsert per journey and per point.
///
/// The output depends only on the journeys (sorted by slug here), never on time or environment.
pub fn to_sql(journeys: &[Journey]) -> String {
    let mut sql = String::new();
    sql.push_str(&format!(
        "-- Loads the journeys and their conversation points from fixtures/journeys/*.json. Generated: edit the JSON, then run `{REGENERATE_COMMAND}`.\n"
    ));
    sql.push_str(KEEP_MARKER);
    sql.push('\n');
    sql.push_str("--\n-- Upserts by slug and by (journey, point id), so loading twice changes nothing.\n");
    for statement in statements(journeys) {
        sql.push('\n');
        if let Some(comment) = &statement.comment {
            sql.push_str(&format!("-- {comment}\n"));
        }
        sql.push_str(&statement.sql);
        sql.push_str(";\n");
    }
    sql
}

/// Upserts `journeys` and their conversation points into a migrated database, in one transaction.
///
/// Runs exactly the statements [`to_sql`] writes into the migration. Points removed from a
/// fixture are left in place: deleting them would delete every conversation's status for them.
///
/// ```no_run
/// # fn run(client: &mut postgres::Client) -> app::Result<()> {
/// let journeys = app::fixtures::load_dir(std::path::Path::new("fixtures/journeys"))?;
/// app::fixtures::upsert(client, &journeys)?;
/// # Ok(()) }
/// ```
pub fn upsert(client: &mut postgres::Client, journeys: &[Journey]) -> Result<()> {
    let mut tx = client.transaction()?;
    for statement in statements(journeys) {
        tx.batch_execute(&statement.sql).map_err(|e| {
            let hint = match e.code() {
                Some(&SqlState::UNDEFINED_TABLE | &SqlState::UNDEFINED_COLUMN) => {
                    "; migrate the database first (`sdm migrate`)"
                }
                _ => "",
            };
            Error::Invalid(format!("loading {} failed: {}{hint}", statement.subject, db_message(&e)))
        })?;
    }
    tx.commit()?;
    Ok(())
}

/// Finds the one `load_journeys` migration under `migrations_dir`: `journeys/V<n>__load_journeys.sql`,
/// or `V<n>__load_journeys.sql` directly in a flat folder.
pub fn migration_path(migrations_dir: &Path) -> Result<PathBuf> {
    let suffix = format!("__{MIGRATION_NAME}.sql");
    let mut found = Vec::new();
    for dir in [migrations_dir.join("journeys"), migrations_dir.to_path_buf()] {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(Error::Io { path: dir, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io { path: dir.clone(), source })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_load_journeys = name
                .strip_prefix('V')
                .and_then(|rest| rest.strip_suffix(&suffix))
                .is_some_and(|version| !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()));
            if is_load_journeys && entry.path().is_file() {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::MigrationFile {
            path: migrations_dir.to_path_buf(),
            message: format!(
                "no V<n>{suffix} migration in journeys/ (or in the folder itself); create an empty \
                 journeys/V<n>{suffix} after memory's first migration, then run `{REGENERATE_COMMAND}`"
            ),
        }),
        _ => Err(Error::MigrationFile {
            path: migrations_dir.to_path_buf(),
            message: format!(
                "{} {MIGRATION_NAME} migrations: {}; keep exactly one",
                found.len(),
                found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

/// One SQL statement of the load, with what it loads (for messages) and an optional comment.
pub struct FixtureStatement {
    /// What the statement loads, e.g. "journey `knee-osteoarthritis-treatment`".
    pub subject: String,
    /// A one-line comment written above the statement in the migration.
    pub comment: Option<String>,
    /// The statement, without a trailing semicolon.
    pub sql: String,
}

/// Returns the upserts that load `journeys` (sorted by slug): each journey, then its points.
pub fn statements(journeys: &[Journey]) -> Vec<FixtureStatement> {
    let mut sorted: Vec<&Journey> = journeys.iter().collect();
    sorted.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut out = Vec::new();
    for journey in sorted {
        let slug = quote_literal(&journey.slug);
        out.push(FixtureStatement {
            subject: format!("journey `{}`", journey.slug),
            comment: Some(format!("Journey {}", comment_safe(&journey.slug))),
            sql: format!(
                "INSERT INTO journeys_journey (slug, title, description, options, onboarding_questions)\n\
                 VALUES (\n    {slug},\n    {title},\n    {description},\n    {options}::jsonb,\n    {questions}::jsonb\n)\n\
                 ON CONFLICT (slug) DO UPDATE SET\n    \
                 title = EXCLUDED.title,\n    \
                 description = EXCLUDED.description,\n    \
                 options = EXCLUDED.options,\n    \
                 onboarding_questions = EXCLUDED.onboarding_questions,\n    \
                 updated_at = now()\n\
                 WHERE (journeys_journey.title, journeys_journey.description, journeys_journey.options, journeys_journey.onboarding_questions)\n    \
                 IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.options, EXCLUDED.onboarding_questions)",
                title = quote_literal(&journey.title),
                description = quote_literal(&journey.description),
                options = quote_literal(&pretty_json(&journey.options)),
                questions = quote_literal(&pretty_json(&journey.onboarding_questions)),
            ),
        });
        for (index, point) in journey.conversation_points.iter().enumerate() {
            out.push(FixtureStatement {
                subject: format!("conversation point `{}` of journey `{}`", point.id, journey.slug),
                comment: None,
                sql: format!(
                    "INSERT INTO memory_conversation_point (journey_id, point_id, title, description, covered_when, sort_order)\n\
                     SELECT id, {point_id}, {title}, {description}, {covered_when}::jsonb, {sort_order}\n\
                     FROM journeys_journey WHERE slug = {slug}\n\
                     ON CONFLICT (journey_id, point_id) DO UPDATE SET\n    \
                     title = EXCLUDED.title,\n    \
                     description = EXCLUDED.description,\n    \
                     covered_when = EXCLUDED.covered_when,\n    \
                     sort_order = EXCLUDED.sort_order\n\
                     WHERE (memory_conversation_point.title, memory_conversation_point.description, memory_conversation_point.covered_when, memory_conversation_point.sort_order)\n    \
                     IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.covered_when, EXCLUDED.sort_order)",
                    point_id = quote_literal(&point.id),
                    title = quote_literal(&point.title),
                    description = quote_literal(&point.description),
                    covered_when = quote_literal(&compact_json(&point.covered_when)),
                    sort_order = index + 1,
                ),
            });
        }
    }
    out
}

/// Quotes `text` as a SQL string literal: quotes doubled, and the `E''` form when it holds a
/// backslash so the result does not depend on `standard_conforming_strings`.
pub fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if quoted.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

fn pretty_json<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of strings cannot fail; an empty array keeps the SQL valid anyway.
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "[]".to_string())
}

fn compact_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_string())
}

/// Keeps a comment on one line whatever the slug holds (to_sql also accepts unvalidated journeys).
fn comment_safe(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn db_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

/// A parsed, validated fixture with where it came from, for cross-file checks.
struct LoadedJourney {
    path: PathBuf,
    positions: Positions,
    journey: Journey,
}

impl LoadedJourney {
    fn error(&self, pointer: &str, message: String) -> Error {
        let (line, column) = self.positions.of(pointer);
        Error::Fixture { path: self.path.clone(), line, column, message }
    }
}

/// Returns the `*.json` files directly in `dir`, sorted by name.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |source| Error::Io { path: dir.to_path_buf(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn parse(path: &Path, text: &str) -> Result<LoadedJourney> {
    let journey: Journey = serde_json::from_str(text).map_err(|e| {
        let message = serde_message(&e);
        let message = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("invalid JSON: {message}")
            }
            _ if message.starts_with("unknown field") => {
                format!("{message}; remove it or fix its spelling")
            }
            _ if message.starts_with("missing field") => format!("{message}; add it"),
            _ => message,
        };
        Error::Fixture { path: path.to_path_buf(), line: e.line().max(1), column: e.column().max(1), message }
    })?;
    let loaded = LoadedJourney { path: path.to_path_buf(), positions: Positions::scan(text), journey };
    validate(&loaded)?;
    Ok(loaded)
}

/// serde_json's message without its " at line L column C" suffix (the error carries those).
fn serde_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(at) => full[..at].to_string(),
        None => full,
    }
}

fn validate(loaded: &LoadedJourney) -> Result<()> {
    let j = &loaded.journey;
    let fail = |pointer: &str, message: String| Err(loaded.error(pointer, message));

    // Postgres cannot store NUL in text or jsonb; catch it here rather than halfway through a load.
    if let Ok(value) = serde_json::to_value(j) {
        if let Some(pointer) = find_nul(&value, String::new()) {
            return fail(
                &pointer,
                "text contains a NUL character (\\u0000), which Postgres cannot store; remove it".to_string(),
            );
        }
    }

    check_id(loaded, "/slug", &j.slug, "journey slug")?;
    check_text(loaded, "/title", &j.title, "journey title")?;
    if j.options.len() < 2 {
        return fail(
            "/options",
            format!("journey `{}` has {} option(s); a decision needs at least two", j.slug, j.options.len()),
        );
    }
    if j.conversation_points.is_empty() {
        return fail(
            "/conversation_points",
            format!("journey `{}` has no conversation points; add at least one", j.slug),
        );
    }

    let mut ids = IdSet::new("option");
    for (i, option) in j.options.iter().enumerate() {
        let at = format!("/options/{i}");
        check_id(loaded, &format!("{at}/id"), &option.id, "option id")?;
        ids.insert(loaded, &format!("{at}/id"), &option.id)?;
        check_text(loaded, &format!("{at}/label"), &option.label, "option label")?;
    }

    let mut ids = IdSet::new("onboarding question");
    for (i, question) in j.onboarding_questions.iter().enumerate() {
        let at = format!("/onboarding_questions/{i}");
        check_id(loaded, &format!("{at}/id"), &question.id, "question id")?;
        ids.insert(loaded, &format!("{at}/id"), &question.id)?;
        check_text(loaded, &format!("{at}/prompt"), &question.prompt, "question prompt")?;
        match (question.kind, &question.choices) {
            (QuestionKind::Choice, None) => {
                return fail(
                    &at,
                    format!("question `{}` is a choice question without `choices`; list at least two", question.id),
                );
            }
            (QuestionKind::Choice, Some(choices)) if choices.len() < 2 => {
                return fail(
                    &format!("{at}/choices"),
                    format!("question `{}` has {} choice(s); list at least two", question.id, choices.len()),
                );
            }
            (QuestionKind::Choice, Some(choices)) => {
                for (c, choice) in choices.iter().enumerate() {
                    check_text(loaded, &format!("{at}/choices/{c}"), choice, "choice")?;
                }
            }
            (kind @ (QuestionKind::Scale | QuestionKind::Text), Some(_)) => {
                let kind = if kind == QuestionKind::Scale { "scale" } else { "text" };
                return fail(
                    &format!("{at}/choices"),
                    format!(
                        "question `{}` is a {kind} question; remove `choices` or make it `\"kind\": \"choice\"`",
                        question.id
                    ),
                );
            }
            _ => {}
        }
    }

    let mut ids = IdSet::new("conversation point");
    for (i, point) in j.conversation_points.iter().enumerate() {
        let at = format!("/conversation_points/{i}");
        check_id(loaded, &format!("{at}/id"), &point.id, "conversation point id")?;
        ids.insert(loaded, &format!("{at}/id"), &point.id)?;
        check_text(loaded, &format!("{at}/title"), &point.title, "conversation point title")?;
        if point.covered_when.is_empty() {
            return fail(
                &format!("{at}/covered_when"),
                format!(
                    "conversation point `{}` has an empty `covered_when`; list the phrases that cover it",
                    point.id
                ),
            );
        }
        for (p, phrase) in point.covered_when.iter().enumerate() {
            let pointer = format!("{at}/covered_when/{p}");
            if phrase.trim().is_empty() {
                return fail(
                    &pointer,
                    format!("conversation point `{}` has an empty phrase in `covered_when`; remove it", point.id),
                );
            }
            if phrase.to_lowercase() != *phrase {
                return fail(&pointer, format!("phrase `{phrase}` of conversation point `{}` is not lowercase; messages are matched in lowercase, write `{}`", point.id, phrase.to_lowercase()));
            }
        }
    }
    Ok(())
}

/// Returns the JSON pointer of the first string holding a NUL character.
fn find_nul(value: &serde_json::Value, pointer: String) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(pointer),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| find_nul(item, format!("{pointer}/{i}")))
        }
        serde_json::Value::Object(fields) => {
            fields.iter().find_map(|(key, item)| find_nul(item, format!("{pointer}/{key}")))
        }
        _ => None,
    }
}

/// Checks a slug or id: non-empty, lowercase letters, digits and `-` only.
fn check_id(loaded: &LoadedJourney, pointer: &str, value: &str, what: &str) -> Result<()> {
    if value.is_empty() {
        return Err(loaded.error(pointer, format!("{what} is empty; use lowercase letters, digits and '-'")));
    }
    if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(loaded
            .error(pointer, format!("{what} `{value}` must match [a-z0-9-]+ (lowercase letters, digits and '-')")));
    }
    Ok(())
}

fn check_text(loaded: &LoadedJourney, pointer: &str, value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(loaded.error(pointer, format!("{what} is empty; write one")));
    }
    Ok(())
}

/// Ids already seen in one list of a journey, with where each first appeared.
struct IdSet<'a> {
    what: &'static str,
    seen: HashMap<&'a str, (usize, usize)>,
}

impl<'a> IdSet<'a> {
    fn new(what: &'static str) -> IdSet<'a> {
        IdSet { what, seen: HashMap::new() }
    }

    fn insert(&mut self, loaded: &LoadedJourney, pointer: &str, id: &'a str) -> Result<()> {
        let here = loaded.positions.of(pointer);
        if let Some((line, column)) = self.seen.get(id) {
            return Err(loaded.error(
                pointer,
                format!("duplicate {} id `{id}` (first at line {line}, column {column}); ids must be unique within a journey", self.what),
            ));
        }
        self.seen.insert(id, here);
        Ok(())
    }
}

/// Where each value of a JSON document starts, keyed by JSON pointer ("/options/2/id").
///
/// serde_json reports positions only for errors it finds itself; the checks made after parsing
/// (duplicates, empty ids) look their positions up here.
struct Positions {
    starts: HashMap<String, (usize, usize)>,
}

impl Positions {
    /// Scans `text`, which serde_json has already accepted; on anything unexpected it stops and
    /// keeps what it found (missing entries fall back to the document's start).
    fn scan(text: &str) -> Positions {
        let mut scanner = Scanner { chars: text.chars().collect(), at: 0, line: 1, column: 1, starts: HashMap::new() };
        let _ = scanner.value(String::new());
        Positions { starts: scanner.starts }
    }

    /// Returns the 1-based (line, column) where the value at `pointer` starts.
    fn of(&self, pointer: &str) -> (usize, usize) {
        self.starts.get(pointer).copied().unwrap_or((1, 1))
    }
}

struct Scanner {
    chars: Vec<char>,
    at: usize,
    line: usize,
    column: usize,
    starts: HashMap<String, (usize, usize)>,
}

impl Scanner {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }

    fn value(&mut self, pointer: String) -> Option<()> {
        self.skip_whitespace();
        self.starts.entry(pointer.clone()).or_insert((self.line, self.column));
        match self.peek()? {
            '{' => {
                self.bump();
                self.skip_whitespace();
                if self.peek()? == '}' {
                    self.bump();
                    return Some(());
                }
                loop {
                    self.skip_whitespace();
                    let key = self.string()?;
                    self.skip_whitespace();
                    (self.bump()? == ':').then_some(())?;
                    self.value(format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1")))?;
                    self.skip_whitespace();
                    match self.bump()? {
                        ',' => continue,
                        '}' => return Some(()),
                        _ => return None,
                    }
                }
            }
            '[' => {
                self.bump();
                self.skip_whitespace();
                if self.peek()? == ']' {
                    self.bump();
                    return Some(());
                }
                let mut index = 0;
                loop {
                    self.value(format!("{pointer}/{index}"))?;
                    index += 1;
                    self.skip_whitespace();
                    match self.bump()? {
                        ',' => continue,
                        ']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            '"' => self.string().map(|_| ()),
            _ => {
                while self.peek().is_some_and(|c| !matches!(c, ',' | ']' | '}' | ' ' | '\t' | '\n' | '\r')) {
                    self.bump();
                }
                Some(())
            }
        }
    }

    /// Reads a string token and returns its decoded text.
    fn string(&mut self) -> Option<String> {
        (self.bump()? == '"').then_some(())?;
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => match self.bump()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                        out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).unwrap_or('\u{fffd}'));
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_value_starts() {
        let text = "{\n  \"slug\": \"a\",\n  \"list\": [\n    {\"id\": \"x\"},\n    {\"id\": \"y\\\"/z\"}\n  ]\n}\n";
        let positions = Positions::scan(text);
        assert_eq!(positions.of("/slug"), (2, 11));
        assert_eq!(positions.of("/list"), (3, 11));
        assert_eq!(positions.of("/list/0/id"), (4, 12));
        assert_eq!(positions.of("/list/1/id"), (5, 12));
        assert_eq!(positions.of("/missing"), (1, 1));
    }

    #[test]
    fn literals_survive_quotes_and_backslashes() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r#"say \"hi\""#), r#"E'say \\"hi\\"'"#);
    }

    #[test]
    fn to_sql_is_deterministic_and_sorted() {
        let journey = |slug: &str| Journey {
            slug: slug.to_string(),
            title: "T".into(),
            description: "D".into(),
            options: vec![],
            onboarding_questions: vec![],
            conversation_points: vec![ConversationPoint {
                id: "p".into(),
                title: "P".into(),
                description: String::new(),
                covered_when: vec!["x".into()],
            }],
        };
        let forward = to_sql(&[journey("a"), journey("b")]);
        let backward = to_sql(&[journey("b"), journey("a")]);
        assert_eq!(forward, backward);
        assert!(forward.find("Journey a").unwrap() < forward.find("Journey b").unwrap());
        assert_eq!(forward.lines().nth(1), Some(KEEP_MARKER));
        assert!(forward.lines().next().unwrap().contains("cargo xtask fixtures"));
    }
}
