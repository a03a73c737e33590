//! Records what a squash replaced, next to the new set: `squashes/<n>.json` (the replaced chain,
//! the squashed set, the schema the chain ends with) and a new lock file. `sdm migrate` reads the
//! record to move databases migrated with the old chain onto the new set (see `migrator::migrate`).
//!
//! The record's schema is read from the catalogs of the replayed chain's database, and must equal
//! the new set's, read the same way: a second proof, beside pg_dump's, in the terms the runner
//! checks live databases in. From the second squash on, the migrations written since the previous
//! squash keep their SQL in the record, so a database that followed the previous squash but had
//! not run them yet can still follow this one.

use std::path::Path;

use anyhow::{bail, Context};
use devdb::TestDatabase;
use migrator::migrations::SQUASHES_DIR;
use migrator::migrations::{LockMismatch, MigrationLock, MigrationSet, RecordedMigration, SquashRecord, LOCK_FILE};
use migrator::schema::{list_differences, Snapshot};
use xshell::{cmd, Shell};

/// Fails when a migration the lock file recorded was edited or removed: databases ran the
/// recorded version, so a record of the edited chain would not describe them.
pub fn check_recorded(set: &MigrationSet) -> anyhow::Result<()> {
    let Some(lock) = &set.lock else { return Ok(()) };
    let edits: Vec<String> = lock
        .mismatches(&set.files)
        .into_iter()
        .filter(|m| !matches!(m, LockMismatch::Unrecorded(_)))
        .map(|m| format!("  {m}"))
        .collect();
    if !edits.is_empty() {
        bail!(
            "the chain differs from what {} recorded, so databases migrated with it could not follow the squash:\n{}",
            lock.path.display(),
            edits.join("\n")
        );
    }
    Ok(())
}

/// Writes the record of squashing `old_set` and the new lock file into `staging`, which holds the
/// new set; `old` holds the replayed chain, `new` the new set's database. Returns the record's
/// path relative to the folder.
pub fn stage(
    sh: &Shell,
    dir: &Path,
    staging: &Path,
    old_set: &MigrationSet,
    chain_schema: Snapshot,
    new: &TestDatabase<'_>,
) -> anyhow::Result<String> {
    let previous = old_set.last_squash();
    if let Some(previous) = previous {
        for m in &previous.squashed {
            if !old_set.get(m.version).is_some_and(|file| m.is(file)) {
                bail!(
                    "{} is not in the folder as squash {} wrote it ({}): databases that followed that squash ran it; \
                     restore it from git",
                    m.label(),
                    previous.squash,
                    previous.path.display()
                );
            }
        }
    }
    let replaced: Vec<RecordedMigration> = old_set
        .files
        .iter()
        .map(|file| {
            let mut entry = RecordedMigration::of(file);
            let added_since = previous.is_some_and(|p| !p.squashed.iter().any(|m| m.version == file.version));
            if added_since {
                entry.sql = Some(file.sql.clone());
            }
            entry
        })
        .collect();

    let new_schema = Snapshot::read(&mut *new.client()?).context("read the new set's schema")?;
    let differences = chain_schema.diff(&new_schema);
    if !differences.is_empty() {
        bail!(
            "the catalogs of the new set's database differ from the old chain's in {} object(s), although pg_dump \
             shows the same schema (`expected` is the old chain):\n{}",
            differences.len(),
            list_differences(&differences, "  ", 40)
        );
    }

    let new_set = MigrationSet::from_dir(staging)?;
    let squash = previous.map_or(1, |p| p.squash + 1);
    let file_name = SquashRecord::file_name(squash);
    let record = SquashRecord {
        squash,
        old_chain_commit: old_chain_commit(sh, dir),
        replaced,
        squashed: new_set.files.iter().map(RecordedMigration::of).collect(),
        schema: chain_schema,
        path: staging.join(SQUASHES_DIR).join(&file_name),
    };
    let records = staging.join(SQUASHES_DIR);
    std::fs::create_dir_all(&records).with_context(|| format!("create {}", records.display()))?;
    std::fs::write(&record.path, record.to_text()).with_context(|| format!("write {}", record.path.display()))?;
    let lock = MigrationLock::new(&new_set, new_schema, staging.join(LOCK_FILE));
    std::fs::write(&lock.path, lock.to_text()).with_context(|| format!("write {}", lock.path.display()))?;
    // The folder must read back with its records, as `sdm` will embed it.
    MigrationSet::from_dir(staging).context("read back the new set with its squash record")?;
    Ok(format!("{SQUASHES_DIR}/{file_name}"))
}

/// Returns the commit that holds the chain being squashed: HEAD, when `dir` has no uncommitted
/// changes in a git checkout.
fn old_chain_commit(sh: &Shell, dir: &Path) -> Option<String> {
    match super::swap::uncommitted_changes(sh, dir) {
        Ok(Some(status)) if status.trim().is_empty() => {
            let _cwd = sh.push_dir(dir);
            cmd!(sh, "git rev-parse HEAD").quiet().read().ok()
        }
        _ => None,
    }
}
