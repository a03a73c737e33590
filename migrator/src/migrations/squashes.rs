//! Squash records: what each `cargo xtask squash` replaced, so databases migrated with the old
//! chain can follow (`migrations/squashes/<n>.json`, one file per squash, never edited).
//!
//! A record lists the replaced migrations and the squashed set (version, name, checksum, path),
//! and the schema the replaced chain ended with ([`Snapshot`]). From the second squash on, the
//! migrations added since the previous squash keep their SQL in the record: a database that
//! followed the previous squash but not those migrations runs them from there, then follows.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::recorded::{layout, parse, Field, RecordedMigration};
use crate::schema::Snapshot;
use crate::{Error, Result};

/// The folder, under the migrations folder, that holds the squash records.
pub const SQUASHES_DIR: &str = "squashes";

/// What one squash replaced and what it wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SquashRecord {
    /// The squash's number: 1 for the first, then 2, ... (the file is `squashes/<n>.json`).
    pub squash: u32,
    /// The commit that held the replaced chain, when the squash ran in a clean git checkout.
    pub old_chain_commit: Option<String>,
    /// The replaced migrations, in version order.
    pub replaced: Vec<RecordedMigration>,
    /// The migrations the squash wrote, in version order.
    pub squashed: Vec<RecordedMigration>,
    /// The schema the replaced chain ends with (and the squashed set builds).
    pub schema: Snapshot,
    /// Where the record was read from, for messages, e.g. `migrations/squashes/0001.json`.
    pub path: PathBuf,
}

/// A record file as written, before it is checked.
#[derive(Deserialize)]
struct RecordFile {
    squash: u32,
    #[serde(default)]
    old_chain_commit: Option<String>,
    replaced: Vec<RecordedMigration>,
    squashed: Vec<RecordedMigration>,
    schema_hash: String,
    schema: std::collections::BTreeMap<String, String>,
}

impl SquashRecord {
    /// Returns the record's file name: `0001.json` for squash 1.
    pub fn file_name(squash: u32) -> String {
        format!("{squash:04}.json")
    }

    /// Returns the record's text, as `cargo xtask squash` commits it.
    pub fn to_text(&self) -> String {
        layout(&[
            (
                "about",
                Field::Plain(Value::from(format!(
                    "Squash {}: written by `cargo xtask squash`, never edited. `sdm migrate` moves a database whose \
                     history is exactly `replaced` (and whose schema is `schema`) onto `squashed` without running it.",
                    self.squash
                ))),
            ),
            ("squash", Field::Plain(Value::from(self.squash))),
            ("old_chain_commit", Field::Plain(self.old_chain_commit.clone().map_or(Value::Null, Value::from))),
            ("replaced", Field::Migrations(self.replaced.clone())),
            ("squashed", Field::Migrations(self.squashed.clone())),
            ("schema_hash", Field::Plain(Value::from(self.schema.hash()))),
            ("schema", Field::Map(self.schema.objects.clone().into_iter().collect())),
        ])
    }

    /// Returns the highest version of the squashed set (`None` for a record that squashed
    /// nothing): the migrations above it were written after the squash.
    pub fn newest_version(&self) -> Option<i32> {
        self.squashed.iter().map(|m| m.version).max()
    }

    /// Returns the replaced migrations whose SQL the record keeps (added since the previous squash).
    pub fn kept_sql(&self) -> impl Iterator<Item = &RecordedMigration> {
        self.replaced.iter().filter(|m| m.sql.is_some())
    }
}

/// Parses and checks the record at `path` (shown in messages) with file number `number`.
pub(super) fn parse_record(path: &Path, number: u32, bytes: &[u8]) -> Result<SquashRecord> {
    let file: RecordFile = parse(path, bytes)?;
    let invalid = |message: String| Error::MigrationFile { path: path.to_path_buf(), message };
    if file.squash != number {
        return Err(invalid(format!(
            "the record says squash {} but its file name says {number}; restore it from git",
            file.squash
        )));
    }
    let schema = Snapshot { objects: file.schema };
    if schema.hash() != file.schema_hash {
        return Err(invalid(
            "the recorded schema does not match its schema_hash: the record was edited; restore it from git".into(),
        ));
    }
    for list in [&file.replaced, &file.squashed] {
        if list.windows(2).any(|w| w[0].version >= w[1].version) {
            return Err(invalid("migrations must be listed once each, in version order; restore it from git".into()));
        }
        for m in list.iter() {
            m.check_sql(path)?;
        }
    }
    Ok(SquashRecord {
        squash: file.squash,
        old_chain_commit: file.old_chain_commit,
        replaced: file.replaced,
        squashed: file.squashed,
        schema,
        path: path.to_path_buf(),
    })
}

/// Checks that `records` (sorted by file number) are squashes 1, 2, ... and that each one after
/// the first replaced what the one before wrote, plus migrations whose SQL it keeps.
pub(super) fn check_chain(records: &[SquashRecord]) -> Result<()> {
    for (i, record) in records.iter().enumerate() {
        let expected = i as u32 + 1;
        if record.squash != expected {
            return Err(Error::MigrationFile {
                path: record.path.clone(),
                message: format!(
                    "squash {expected}'s record is missing before it; records are never deleted, restore it from git"
                ),
            });
        }
        let Some(previous) = i.checked_sub(1).map(|p| &records[p]) else { continue };
        let carried: Vec<&RecordedMigration> = record.replaced.iter().filter(|m| m.sql.is_none()).collect();
        let wrote: Vec<&RecordedMigration> = previous.squashed.iter().collect();
        if carried != wrote {
            return Err(Error::MigrationFile {
                path: record.path.clone(),
                message: format!(
                    "squash {} replaced migrations other than the ones squash {} wrote (see {}), without keeping their \
                     SQL; records are written by cargo xtask squash, restore them from git",
                    record.squash,
                    previous.squash,
                    previous.path.display()
                ),
            });
        }
    }
    Ok(())
}

/// Parses a record's file name (`0001.json`) into its number.
pub(super) fn record_number(file_name: &str) -> Option<u32> {
    let digits = file_name.strip_suffix(".json")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
