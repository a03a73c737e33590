//! The lock file, `migrations/migrations.lock.json`: every migration's checksum and the schema a
//! fresh database migrated with the set has, committed like Atlas's `atlas.sum` and Rails'
//! `structure.sql`.
//!
//! `cargo xtask lock` writes it and `cargo xtask verify` checks it: an applied migration whose
//! file was edited, a removed migration, a new one not yet recorded, and a stale schema all fail,
//! each with what to do. `sdm check` compares a live database with the recorded schema.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::recorded::{layout, parse, Field, RecordedMigration};
use super::{MigrationFile, MigrationSet};
use crate::schema::Snapshot;
use crate::{Error, Result};

/// The lock file's name, directly in the migrations folder.
pub const LOCK_FILE: &str = "migrations.lock.json";

/// The command that writes the lock file.
pub const LOCK_COMMAND: &str = "cargo xtask lock";

/// The committed checksums and expected schema of a migration set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationLock {
    /// Every migration, in version order.
    pub migrations: Vec<RecordedMigration>,
    /// The schema a fresh database migrated with the set has.
    pub schema: Snapshot,
    /// Where it was read from, e.g. `migrations/migrations.lock.json`.
    pub path: PathBuf,
}

/// How a migration file disagrees with the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockMismatch {
    /// The file of a recorded migration holds other SQL (or another name) now.
    Edited {
        /// The migration as recorded.
        recorded: RecordedMigration,
        /// The file with its version now.
        path: PathBuf,
        /// Its label now.
        label: String,
        /// Its checksum now.
        checksum: u64,
    },
    /// A recorded migration has no file any more.
    Removed(RecordedMigration),
    /// A file the lock does not record yet: a new migration.
    Unrecorded(PathBuf),
}

#[derive(Deserialize)]
struct LockFile {
    migrations: Vec<RecordedMigration>,
    schema_hash: String,
    schema: BTreeMap<String, String>,
}

impl MigrationLock {
    /// Returns the lock for `set`, whose fresh database has `schema`.
    pub fn new(set: &MigrationSet, schema: Snapshot, path: PathBuf) -> MigrationLock {
        MigrationLock { migrations: set.files.iter().map(RecordedMigration::of).collect(), schema, path }
    }

    /// Returns the lock file's text.
    pub fn to_text(&self) -> String {
        layout(&[
            (
                "about",
                Field::Plain(Value::from(format!(
                    "Written by `{LOCK_COMMAND}`: every migration's checksum, and the schema a fresh database migrated \
                     with them has. verify fails when a recorded migration's file is edited or removed, or this file \
                     is stale."
                ))),
            ),
            ("migrations", Field::Migrations(self.migrations.clone())),
            ("schema_hash", Field::Plain(Value::from(self.schema.hash()))),
            ("schema", Field::Map(self.schema.objects.clone().into_iter().collect())),
        ])
    }

    /// Returns how `files` disagree with the recorded migrations, in version order.
    pub fn mismatches(&self, files: &[MigrationFile]) -> Vec<LockMismatch> {
        let mut out = Vec::new();
        for recorded in &self.migrations {
            match files.iter().find(|f| f.version == recorded.version) {
                Some(file) if recorded.is(file) => {}
                Some(file) => out.push(LockMismatch::Edited {
                    recorded: recorded.clone(),
                    path: file.path.clone(),
                    label: file.label(),
                    checksum: file.checksum(),
                }),
                None => out.push(LockMismatch::Removed(recorded.clone())),
            }
        }
        for file in files {
            if !self.migrations.iter().any(|m| m.version == file.version) {
                out.push(LockMismatch::Unrecorded(file.path.clone()));
            }
        }
        out
    }
}

impl std::fmt::Display for LockMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockMismatch::Edited { recorded, path, label, checksum } => write!(
                f,
                "{} was edited after it was recorded: the lock has {} with checksum {}, the file is now {label} with \
                 checksum {checksum}. Databases that applied {} keep what they ran, and `sdm migrate` refuses them; \
                 restore the file (`git checkout -- {}`) and put the change in a new migration (for journeys, \
                 `cargo xtask fixtures` writes it)",
                path.display(),
                recorded.label(),
                recorded.checksum,
                recorded.label(),
                path.display()
            ),
            LockMismatch::Removed(recorded) => write!(
                f,
                "{} ({}) is recorded but its file is gone: restore it; only `cargo xtask squash` removes migrations",
                recorded.label(),
                recorded.path
            ),
            LockMismatch::Unrecorded(path) => write!(f, "{} is not recorded yet", path.display()),
        }
    }
}

/// Parses the lock file at `path` (shown in messages).
pub(super) fn parse_lock(path: &Path, bytes: &[u8]) -> Result<MigrationLock> {
    let file: LockFile = parse(path, bytes)?;
    let schema = Snapshot { objects: file.schema };
    if schema.hash() != file.schema_hash {
        return Err(Error::MigrationFile {
            path: path.to_path_buf(),
            message: format!(
                "the recorded schema does not match its schema_hash: the file was edited by hand; run `{LOCK_COMMAND}`"
            ),
        });
    }
    for m in &file.migrations {
        m.check_sql(path)?;
    }
    Ok(MigrationLock { migrations: file.migrations, schema, path: path.to_path_buf() })
}
