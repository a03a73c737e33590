//! `cargo xtask lock`: writes `migrations/migrations.lock.json`, every migration's checksum and
//! the schema a fresh database migrated with them has, and checks it (`--check`, and verify).
//!
//! A recorded checksum is never rewritten: an applied migration whose file was edited fails,
//! naming the file and what to do, unless `--amend <version>` says that migration was never
//! applied anywhere. Only `cargo xtask squash` replaces recorded migrations (it writes the lock).

use std::path::Path;

use anyhow::{bail, Context};
use devdb::Server;
use migrator::migrations::{LockMismatch, MigrationLock, MigrationSet, LOCK_COMMAND, LOCK_FILE};
use migrator::schema::{list_differences, Snapshot};
use xshell::Shell;

use crate::database::migrations_in;
use crate::flags;

/// Schema differences listed when the lock is stale.
const LISTED: usize = 20;

impl flags::Lock {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let dir = sh.current_dir().join("migrations");
        let set = migrations_in(&dir)?;
        let server = crate::database::server()?;
        let schema = fresh_schema(&server, &set)?;
        if self.check {
            check(&set, &schema)?;
            println!("{} is up to date", dir.join(LOCK_FILE).display());
            return Ok(());
        }
        let path = write(&dir, &set, schema, self.amend)?;
        println!("{}", path);
        Ok(())
    }
}

/// Returns the schema of a fresh database migrated with `set` (a clone of its template).
pub fn fresh_schema(server: &Server, set: &MigrationSet) -> anyhow::Result<Snapshot> {
    let db = server.test_database(Some(set)).context("migrate a fresh database")?;
    Ok(Snapshot::read(&mut db.try_connect()?)?)
}

/// Writes the lock of `set` (whose fresh database has `schema`) into `dir`; returns what it did.
/// Refuses when a recorded migration was edited or removed, except the version `amend`.
pub fn write(dir: &Path, set: &MigrationSet, schema: Snapshot, amend: Option<i32>) -> anyhow::Result<String> {
    if let Some(lock) = &set.lock {
        let edits: Vec<String> = lock
            .mismatches(&set.files)
            .into_iter()
            .filter(|m| match m {
                LockMismatch::Edited { recorded, .. } => Some(recorded.version) != amend,
                LockMismatch::Removed(_) => true,
                LockMismatch::Unrecorded(_) => false,
            })
            .map(|m| format!("  {m}"))
            .collect();
        if !edits.is_empty() {
            bail!(
                "{} not written:\n{}\nA migration some database may have applied is never edited. If it was never \
                 applied anywhere (not merged, no shared database ran it), rerun with `--amend <version>`.",
                lock.path.display(),
                edits.join("\n")
            );
        }
    }
    let path = dir.join(LOCK_FILE);
    let text = MigrationLock::new(set, schema, path.clone()).to_text();
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(format!("{} is up to date", path.display()));
    }
    crate::fixtures::write_atomically(&path, &text)?;
    Ok(format!("wrote {} ({} migrations)", path.display(), set.files.len()))
}

/// Fails unless `set`'s lock records exactly its migrations and `schema`, the schema a fresh
/// database migrated with them has; an edited or removed migration says what to do.
pub fn check(set: &MigrationSet, schema: &Snapshot) -> anyhow::Result<()> {
    let Some(lock) = &set.lock else {
        bail!("the migrations have no {LOCK_FILE}: run `{LOCK_COMMAND}` and commit the result");
    };
    let mismatches = lock.mismatches(&set.files);
    let edits: Vec<String> =
        mismatches.iter().filter(|m| !matches!(m, LockMismatch::Unrecorded(_))).map(|m| format!("  {m}")).collect();
    if !edits.is_empty() {
        bail!("recorded migrations were changed (checked against {}):\n{}", lock.path.display(), edits.join("\n"));
    }
    let mut stale: Vec<String> = mismatches.iter().map(|m| format!("  {m}")).collect();
    let differences = lock.schema.diff(schema);
    if !differences.is_empty() {
        stale.push(format!(
            "  the recorded schema differs from a fresh database's in {} object(s) (`expected` is the record):\n{}",
            differences.len(),
            list_differences(&differences, "    ", LISTED).trim_end()
        ));
    }
    if !stale.is_empty() {
        bail!("{} is stale:\n{}\nRun `{LOCK_COMMAND}` and commit the result.", lock.path.display(), stale.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::tests::scratch_tree;

    #[test]
    fn the_committed_lock_is_up_to_date() {
        let set = migrations_in(&crate::project_root().join("migrations")).unwrap();
        check(&set, &fresh_schema(devdb::test_server(), &set).unwrap()).unwrap_or_else(|e| panic!("{e:#}"));
    }

    #[test]
    fn editing_a_recorded_migration_fails_with_what_to_do() {
        let tree = scratch_tree("lock-edit");
        let dir = tree.join("migrations");
        let recorded = migrations_in(&dir).unwrap();
        let loader =
            recorded.files.iter().find(|f| f.name == app::fixtures::MIGRATION_NAME).expect("the chain loads journeys");
        let load = dir.join(loader.relative_path());
        let text = std::fs::read_to_string(&load).unwrap();
        let edited = text.replacen("'Managing early-stage", "'Managing early", 1);
        assert_ne!(edited, text, "the edit changes {}", load.display());
        std::fs::write(&load, edited).unwrap();
        let set = migrations_in(&dir).unwrap();
        let schema = fresh_schema(devdb::test_server(), &set).unwrap();
        let err = format!("{:#}", check(&set, &schema).unwrap_err());
        assert!(err.contains("recorded migrations were changed"), "{err}");
        assert!(
            err.contains(&format!(
                "{} was edited after it was recorded: the lock has {} with checksum",
                load.display(),
                loader.label()
            )),
            "{err}"
        );
        assert!(err.contains(&format!("restore the file (`git checkout -- {}`)", load.display())), "{err}");
        assert!(err.contains("`cargo xtask fixtures` writes it"), "{err}");
        let err = format!("{:#}", write(&dir, &set, schema.clone(), None).unwrap_err());
        assert!(err.contains("not written") && err.contains("--amend <version>"), "{err}");
        assert!(write(&dir, &set, schema, Some(loader.version)).unwrap().starts_with("wrote "));
        std::fs::remove_dir_all(tree).unwrap();
    }

    #[test]
    fn a_new_migration_makes_the_lock_stale_until_it_is_written() {
        let tree = scratch_tree("lock-stale");
        let dir = tree.join("migrations");
        std::fs::write(
            dir.join("users/V24__users_nickname.sql"),
            "ALTER TABLE users_account ADD COLUMN nickname text;\n",
        )
        .unwrap();
        let set = migrations_in(&dir).unwrap();
        let schema = fresh_schema(devdb::test_server(), &set).unwrap();
        let err = format!("{:#}", check(&set, &schema).unwrap_err());
        assert!(err.contains("migrations.lock.json is stale:"), "{err}");
        assert!(err.contains("V24__users_nickname.sql is not recorded yet"), "{err}");
        assert!(err.contains("column public.users_account.nickname: not expected (found `text`)"), "{err}");
        assert!(err.ends_with("Run `cargo xtask lock` and commit the result."), "{err}");
        write(&dir, &set, schema.clone(), None).unwrap();
        check(&migrations_in(&dir).unwrap(), &schema).unwrap();
        std::fs::remove_dir_all(tree).unwrap();
    }
}
