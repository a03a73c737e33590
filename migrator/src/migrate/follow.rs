//! Moves a database migrated with a chain that a squash replaced onto the squashed set, without
//! running the squashed files, and refuses (changing nothing) where that is not proven safe.
//!
//! The squash records (`migrations/squashes/<n>.json`) say what each squash replaced and the
//! schema that chain ends with. A database whose history is exactly a replaced chain, with the
//! same checksums, and whose live schema is that schema, has what the squashed set builds (the
//! squash proved it): its history rows are rewritten to the squashed set in one transaction.
//! Records are followed one after another, so a database two squashes behind follows both; the
//! migrations added between two squashes run from the SQL the later record keeps.

use std::path::PathBuf;
use std::time::Instant;

use postgres::{Client, GenericClient};

use super::history::{self, HistoryRow};
use super::AppliedMigration;
use crate::migrations::{MigrationFile, MigrationSet, RecordedMigration, SquashRecord};
use crate::schema::{list_differences, Snapshot};
use crate::{Error, Result};

/// Differences listed in a refusal before the rest are counted.
const LISTED: usize = 20;

/// Why a database cannot follow a squash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// It applied some of the replaced migrations but not all, and the rest are gone.
    PartWay,
    /// It applied a replaced migration with another checksum: another version of the file.
    ChecksumMismatch,
    /// Its schema is not the one the replaced chain builds.
    SchemaDiffers,
    /// This build's squashed files are not the ones the squash wrote.
    RecordMismatch,
}

/// A squash that a run moved the database onto.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowedSquash {
    /// The squash's number.
    pub squash: u32,
    /// Its record, e.g. `migrations/squashes/0001.json`.
    pub record: PathBuf,
    /// Replaced migrations that ran first, from the SQL the record keeps (added after the
    /// previous squash; the database had not applied them yet).
    pub caught_up: Vec<AppliedMigration>,
    /// How many history rows of the replaced chain were rewritten.
    pub replaced: usize,
    /// The squashed migrations now recorded, e.g. `V1__users_initial`.
    pub squashed: Vec<String>,
    /// How many schema objects were compared with the record and found equal.
    pub schema_objects: usize,
    /// Wall time of the checks and the rewrite, in milliseconds.
    pub millis: f64,
}

impl FollowedSquash {
    /// Returns what the run did, one line per step, for people.
    pub fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .caught_up
            .iter()
            .map(|m| format!("Applied V{}__{} from {} ({:.1} ms)", m.version, m.name, self.record.display(), m.millis))
            .collect();
        let squashed = match (self.squashed.first(), self.squashed.last()) {
            (Some(first), Some(last)) if self.squashed.len() > 1 => format!("{first} to {last}"),
            (Some(only), _) => only.clone(),
            _ => "none".to_string(),
        };
        lines.push(format!(
            "Followed squash {} ({}): the schema is what the {} replaced migrations build ({} objects compared), so \
             the history now records the {} squashed migrations ({squashed}) in their place; none of them ran \
             ({:.1} ms)",
            self.squash,
            self.record.display(),
            self.replaced,
            self.schema_objects,
            self.squashed.len(),
            self.millis
        ));
        lines
    }
}

/// Where a database's history stands against the set and its squash records.
pub(super) enum Position<'a> {
    /// The history is the current set's (or empty): the ordinary checks apply.
    Current,
    /// The history is exactly what the record replaced.
    Replaced(&'a SquashRecord),
    /// The history is what the record replaced, less migrations whose SQL the record keeps.
    Behind(&'a SquashRecord, Vec<&'a RecordedMigration>),
    /// The database cannot follow the record.
    Refused(&'a SquashRecord, Refusal, String),
}

/// Finds where `history` stands: the current set's, or a chain one of the records replaced
/// (newest first, since the same label can belong to two squashes' sets).
pub(super) fn position<'a>(history: &[HistoryRow], set: &'a MigrationSet) -> Position<'a> {
    let current = history.iter().filter(|row| set.get(row.version).is_some_and(|file| row.is(file))).count();
    if current == history.len() {
        return Position::Current;
    }
    for record in set.squashes.iter().rev() {
        let entry = |row: &HistoryRow| record.replaced.iter().find(|m| m.version == row.version && m.name == row.name);
        if !history.iter().all(|row| entry(row).is_some()) {
            continue;
        }
        let exact = history
            .iter()
            .filter(|row| entry(row).is_some_and(|m| row.checksum.as_deref() == Some(m.checksum.as_str())))
            .count();
        // Squashed files often keep the names of the ones they replaced: a history closer to the
        // current set is the current set's, with its own problems (an edited file).
        if exact <= current {
            continue;
        }
        let mismatched: Vec<(&HistoryRow, &RecordedMigration)> = history
            .iter()
            .filter_map(|row| entry(row).map(|m| (row, m)))
            .filter(|(row, m)| row.checksum.as_deref() != Some(m.checksum.as_str()))
            .collect();
        if !mismatched.is_empty() {
            return Position::Refused(record, Refusal::ChecksumMismatch, mismatch_message(record, &mismatched));
        }
        let missing: Vec<&RecordedMigration> =
            record.replaced.iter().filter(|m| !history.iter().any(|row| row.version == m.version)).collect();
        if missing.is_empty() {
            return Position::Replaced(record);
        }
        let last = history.iter().map(|row| row.version).max();
        if missing.iter().all(|m| m.sql.is_some() && Some(m.version) > last) {
            return Position::Behind(record, missing);
        }
        return Position::Refused(record, Refusal::PartWay, part_way_message(record, history, &missing));
    }
    Position::Current
}

/// Moves the database behind `client` onto the set's squashed migrations where its history is a
/// chain a squash replaced; returns the squashes it followed (none for a current history).
///
/// Runs under the caller's migration lock. `apply` runs one migration in its own transaction
/// with its history row, as the runner does.
pub(super) fn follow(
    client: &mut Client,
    table: &str,
    set: &MigrationSet,
    apply: &mut dyn FnMut(&mut Client, &MigrationFile) -> Result<()>,
) -> Result<Vec<FollowedSquash>> {
    let mut followed = Vec::new();
    let mut caught_up = Vec::new();
    // Each pass either catches up with a record or follows it.
    for _ in 0..=2 * set.squashes.len() {
        let history = history::read(client)?;
        match position(&history, set) {
            Position::Current => break,
            Position::Refused(record, refusal, message) => return Err(refused(record, refusal, message)),
            Position::Behind(record, missing) => {
                check_behind(client, set, record, &missing)?;
                for m in missing {
                    let Some(file) = m.to_file(&record.path) else { continue };
                    let started = Instant::now();
                    apply(client, &file)?;
                    let millis = started.elapsed().as_secs_f64() * 1e3;
                    caught_up.push(AppliedMigration { version: file.version, name: file.name, millis });
                }
            }
            Position::Replaced(record) => {
                followed.push(move_onto(client, table, set, record, std::mem::take(&mut caught_up))?);
            }
        }
    }
    Ok(followed)
}

/// Rewrites the history from `record`'s replaced chain to its squashed set, in one transaction,
/// after checking the history again and the live schema.
fn move_onto(
    client: &mut Client,
    table: &str,
    set: &MigrationSet,
    record: &SquashRecord,
    caught_up: Vec<AppliedMigration>,
) -> Result<FollowedSquash> {
    let started = Instant::now();
    check_squashed_files(set, record)?;
    let mut tx = client.transaction()?;
    // refinery's own runner takes no advisory lock: keep it out while the rows are rewritten.
    tx.batch_execute(&format!("LOCK TABLE {table} IN EXCLUSIVE MODE"))?;
    let history = history::read(&mut tx)?;
    if !matches!(position(&history, set), Position::Replaced(r) if r.squash == record.squash) {
        return Err(Error::Invalid(format!(
            "the history of this database changed while squash {} was being followed; run `sdm migrate` again",
            record.squash
        )));
    }
    let live = live_schema(&mut tx, set)?;
    check_replaced_schema(record, &live)?;
    let versions: Vec<i32> = record.replaced.iter().map(|m| m.version).collect();
    tx.execute(&format!("DELETE FROM {table} WHERE version = ANY($1)"), &[&versions])?;
    for m in &record.squashed {
        let insert = history::insert_row_sql(table, m.version, &m.name, &m.checksum)
            .map_err(|message| Error::MigrationFile { path: record.path.clone(), message })?;
        tx.batch_execute(&insert)?;
    }
    history::mark_followed(&mut tx, table, record)?;
    tx.commit()?;
    Ok(FollowedSquash {
        squash: record.squash,
        record: record.path.clone(),
        caught_up,
        replaced: record.replaced.len(),
        squashed: record.squashed.iter().map(RecordedMigration::label).collect(),
        schema_objects: live.objects.len(),
        millis: started.elapsed().as_secs_f64() * 1e3,
    })
}

/// Fails as [`follow`] would on a database at `position`, without changing it.
pub(super) fn check(client: &mut Client, set: &MigrationSet, position: Position<'_>) -> Result<()> {
    match position {
        Position::Current => Ok(()),
        Position::Refused(record, refusal, message) => Err(refused(record, refusal, message)),
        Position::Replaced(record) => {
            check_squashed_files(set, record)?;
            check_replaced_schema(record, &live_schema(client, set)?)
        }
        Position::Behind(record, missing) => check_behind(client, set, record, &missing),
    }
}

/// Fails unless a database that has not run any of `record`'s kept migrations yet (`missing` are
/// all of them) has what the previous squash wrote, before the first of them runs.
fn check_behind(
    client: &mut Client,
    set: &MigrationSet,
    record: &SquashRecord,
    missing: &[&RecordedMigration],
) -> Result<()> {
    match set.squashes.iter().find(|r| r.squash + 1 == record.squash) {
        Some(previous) if missing.len() == record.kept_sql().count() => check_schema(client, set, previous, record),
        _ => Ok(()),
    }
}

/// Fails unless this build's files are the squashed set `record` wrote, where it is the latest.
fn check_squashed_files(set: &MigrationSet, record: &SquashRecord) -> Result<()> {
    if set.last_squash() != Some(record) {
        return Ok(());
    }
    for m in &record.squashed {
        match set.get(m.version) {
            Some(file) if m.is(file) => {}
            other => return Err(refused(record, Refusal::RecordMismatch, record_mismatch_message(m, other))),
        }
    }
    Ok(())
}

/// Fails unless `live` is the schema `record`'s replaced chain ends with.
fn check_replaced_schema(record: &SquashRecord, live: &Snapshot) -> Result<()> {
    let differences = record.schema.diff(live);
    if differences.is_empty() {
        return Ok(());
    }
    let how = format!("applied exactly the {} migrations", record.replaced.len());
    Err(refused(record, Refusal::SchemaDiffers, schema_message(record, &how, &differences)))
}

/// Fails unless the live schema is what `previous` squash wrote, before `record`'s kept
/// migrations run on it.
fn check_schema(client: &mut Client, set: &MigrationSet, previous: &SquashRecord, record: &SquashRecord) -> Result<()> {
    let live = live_schema(client, set)?;
    // The previous squash's set builds the schema its replaced chain ended with.
    let differences = previous.schema.diff(&live);
    if differences.is_empty() {
        return Ok(());
    }
    let how = format!("has what squash {} wrote", previous.squash);
    Err(refused(record, Refusal::SchemaDiffers, schema_message(previous, &how, &differences)))
}

fn refused(record: &SquashRecord, refusal: Refusal, message: String) -> Error {
    Error::SquashNotFollowed { squash: record.squash, record: record.path.clone(), refusal, message }
}

/// Returns where to find the build from before `record`'s squash, for messages.
fn old_build(record: &SquashRecord) -> String {
    match &record.old_chain_commit {
        Some(commit) => {
            let short: String = commit.chars().take(12).collect();
            format!("commit {short}: `git checkout {short}`")
        }
        None => format!(
            "the parent of the commit that added {}: `git checkout \"$(git log -1 --format=%H -- {})~1\"`",
            record.path.display(),
            record.path.display()
        ),
    }
}

/// Returns `labels` joined, the first `limit` of them, then how many more.
fn some_of(labels: &[String], limit: usize) -> String {
    let mut shown = labels.iter().take(limit).cloned().collect::<Vec<_>>().join(", ");
    if labels.len() > limit {
        shown.push_str(&format!(" and {} more", labels.len() - limit));
    }
    shown
}

fn part_way_message(record: &SquashRecord, history: &[HistoryRow], missing: &[&RecordedMigration]) -> String {
    let last = history.iter().max_by_key(|row| row.version);
    let stopped = match last {
        Some(row) => format!(", the last {} on {}", row.label(), row.applied_on),
        None => String::new(),
    };
    let missing: Vec<String> = missing.iter().map(|m| m.label()).collect();
    format!(
        "it stopped part-way through the {} migrations the squash replaced: it applied {} of them{stopped}, and lacks \
         {}, whose files the squash removed. Two ways forward:\n  \
         1. finish the old chain with the build from before the squash ({}), run `sdm migrate` there, then run \
         `sdm migrate` with this build again: it then follows the squash;\n  \
         2. or, if nothing in this database needs keeping, drop it and migrate it from scratch (the workspace's own \
         database: `cargo xtask reset`, then `sdm migrate`).",
        record.replaced.len(),
        history.len(),
        some_of(&missing, 8),
        old_build(record)
    )
}

fn mismatch_message(record: &SquashRecord, mismatched: &[(&HistoryRow, &RecordedMigration)]) -> String {
    let lines: Vec<String> = mismatched
        .iter()
        .map(|(row, m)| {
            format!(
                "  {}: the database recorded checksum {} on {}; the squash replaced {} ({}) with checksum {}",
                row.label(),
                row.checksum.as_deref().unwrap_or("(none)"),
                row.applied_on,
                m.label(),
                m.path,
                m.checksum
            )
        })
        .collect();
    let show = match &record.old_chain_commit {
        Some(commit) => {
            let short: String = commit.chars().take(12).collect();
            let files: Vec<String> =
                mismatched.iter().map(|(_, m)| format!("`git show {short}:migrations/{}`", m.path)).collect();
            format!(" with the replaced file ({})", files.join(", "))
        }
        None => " with the replaced file (in the commit before the squash)".to_string(),
    };
    let updates: Vec<String> = mismatched
        .iter()
        .map(|(_, m)| {
            format!("UPDATE {} SET checksum = '{}' WHERE version = {};", super::HISTORY_TABLE, m.checksum, m.version)
        })
        .collect();
    format!(
        "it applied another version of {} than the chain the squash replaced:\n{}\nThe squash's proof covers only the \
         chain it replaced. Compare what this database ran{show}. Then either drop the database and migrate it from \
         scratch, or make it hold what the replaced file gives (its rows too: the schema check does not see them) and \
         record that file's checksum (`{}`): `sdm migrate` still compares the schema before it moves anything. A \
         difference that should stay belongs in a new migration after the squash.",
        if mismatched.len() == 1 { "a migration" } else { "some migrations" },
        lines.join("\n"),
        updates.join(" ")
    )
}

fn schema_message(record: &SquashRecord, how: &str, differences: &[crate::schema::Difference]) -> String {
    format!(
        "it {how}, but its schema is not the one they build ({} object(s) differ; `expected` is what {} recorded):\n{}\
         Undo what was changed by hand (the list names it) and run `sdm migrate` again; a change that should stay \
         belongs in a new migration, written once this database has followed the squash.",
        differences.len(),
        record.path.display(),
        list_differences(differences, "  ", LISTED)
    )
}

fn record_mismatch_message(recorded: &RecordedMigration, file: Option<&MigrationFile>) -> String {
    match file {
        Some(file) => format!(
            "this build's {} is {} with checksum {}, but the squash wrote {} with checksum {}: a squashed migration \
             was edited after the squash; restore it (`git checkout -- {}`)",
            file.path.display(),
            file.label(),
            file.checksum(),
            recorded.label(),
            recorded.checksum,
            file.path.display()
        ),
        None => format!(
            "this build has no migration {} ({}), which the squash wrote; restore the file",
            recorded.label(),
            recorded.path
        ),
    }
}

/// Reads the live schema without the history table of the tool the set was imported from,
/// which an adopted database keeps and the chain never made.
pub(super) fn live_schema(client: &mut impl GenericClient, set: &MigrationSet) -> Result<Snapshot> {
    let tool_table: Vec<&str> = set.import.iter().map(|r| r.history_table.as_str()).collect();
    Snapshot::read_without(client, &tool_table)
}
