//! `cargo xtask fixtures`: writes the journeys and points that changed in `fixtures/journeys/`
//! into a new migration, so they reach every database through `sdm migrate`.
//!
//! An applied migration is never rewritten: the changes are what the fixtures' upserts would
//! change on a fresh database migrated with the current set (found in a rolled-back
//! transaction), and they go into `journeys/V<next>__update_journeys.sql`, marked to survive a
//! squash like the first load. The lock file then records the new migration.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use app::fixtures::{self, FixtureStatement, Journey, MIGRATION_NAME, REGENERATE_COMMAND, UPDATE_MIGRATION_NAME};
use devdb::Server;
use migrator::migrations::MigrationSet;
use postgres::Client;
use xshell::Shell;

use crate::database::migrations_in;
use crate::flags;

/// Changed statements listed when the migrations are behind the fixtures.
const LISTED: usize = 12;

impl flags::Fixtures {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = sh.current_dir();
        let server = crate::database::server()?;
        if self.check {
            let set = migrations_in(&root.join("migrations"))?;
            let db = server.test_database(Some(&set)).context("migrate a fresh database")?;
            check(&root, &mut db.try_connect()?)?;
            println!("fixtures: the migrations load fixtures/journeys/ as it is");
            return Ok(());
        }
        match update(&root, &server, self.dry_run)? {
            None => println!("fixtures: the migrations load fixtures/journeys/ as it is; nothing to write"),
            Some(written) if self.dry_run => {
                println!("would write {} ({}):\n{}", written.path.display(), written.subjects, written.text)
            }
            Some(written) => {
                println!("wrote {} ({})", written.path.display(), written.subjects);
                println!("{}", written.lock);
            }
        }
        Ok(())
    }
}

/// A migration `update` wrote (or would write).
pub struct Written {
    pub path: PathBuf,
    pub text: String,
    /// What its statements load.
    pub subjects: String,
    /// What happened to the lock file.
    pub lock: String,
}

/// Writes the changes of `root`'s fixtures into a new migration under `root/migrations` and
/// records it in the lock file (with `dry_run`, only says what it would write); `None` when the
/// migrations load the fixtures as they are.
pub fn update(root: &Path, server: &Server, dry_run: bool) -> anyhow::Result<Option<Written>> {
    let dir = root.join("migrations");
    let set = migrations_in(&dir)?;
    let journeys = fixtures::load_dir(&root.join("fixtures/journeys"))?;
    let changes = {
        let db = server.test_database(Some(&set)).context("migrate a fresh database")?;
        fixtures::changes(&mut db.try_connect()?, &journeys)?
    };
    if changes.is_empty() {
        return Ok(None);
    }
    let (path, text) = new_migration(&dir, &set, &journeys, &changes);
    let subjects = format!("{} statement(s): {}", changes.len(), subjects(&changes));
    if dry_run {
        return Ok(Some(Written { path, text, subjects, lock: String::new() }));
    }
    write_atomically(&path, &text)?;
    // The lock records the new migration; the schema is the same.
    let set = migrations_in(&dir)?;
    let schema = crate::lock::fresh_schema(server, &set)?;
    let lock = crate::lock::write(&dir, &set, schema, None)?;
    Ok(Some(Written { path, text, subjects, lock }))
}

/// Fails when the database behind `client` (migrated with the workspace's migrations) does not
/// hold `fixtures/journeys/` exactly, listing what changed and the command to run.
pub fn check(root: &Path, client: &mut Client) -> anyhow::Result<()> {
    let changes = fixtures::changes(client, &fixtures::load_dir(&root.join("fixtures/journeys"))?)?;
    if changes.is_empty() {
        return Ok(());
    }
    bail!(
        "fixtures/journeys/ changed since the migrations last loaded it: {} statement(s) would change rows ({}). \
         Run `{REGENERATE_COMMAND}` (it writes them into a new migration and records it) and commit the result.",
        changes.len(),
        subjects(&changes)
    )
}

/// Returns the path and text of the migration carrying `changes`: `load_journeys` when the set
/// has none yet, else `update_journeys`, with the next free version.
fn new_migration(
    dir: &Path,
    set: &MigrationSet,
    journeys: &[Journey],
    changes: &[FixtureStatement],
) -> (PathBuf, String) {
    let loaded = set.files.iter().any(|f| f.name == MIGRATION_NAME);
    let (name, text) = if loaded {
        (UPDATE_MIGRATION_NAME, fixtures::update_sql(changes))
    } else {
        (MIGRATION_NAME, fixtures::to_sql(journeys))
    };
    let version = set.files.iter().map(|f| f.version).max().unwrap_or(0) + 1;
    let file = format!("V{version}__{name}.sql");
    let modular = set.files.iter().any(|f| f.module.is_some());
    let path = if modular { dir.join("journeys").join(file) } else { dir.join(file) };
    (path, text)
}

/// Returns what `changes` load, the first few of them.
fn subjects(changes: &[FixtureStatement]) -> String {
    let mut shown: Vec<&str> = changes.iter().take(LISTED).map(|c| c.subject.as_str()).collect();
    let more = changes.len().saturating_sub(LISTED);
    let more = format!("and {more} more");
    if changes.len() > LISTED {
        shown.push(&more);
    }
    shown.join(", ")
}

/// Writes through a temporary file and a rename, so a crash leaves the old file or the new one.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename {} to {}", tmp.display(), path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::tests::scratch_tree;

    #[test]
    fn a_fixture_edit_reaches_a_migrated_database_through_a_new_migration() {
        let tree = scratch_tree("fixture-edit");
        let dir = tree.join("migrations");
        let server = devdb::test_server();
        let set = migrations_in(&dir).unwrap();
        let db = server.test_database(Some(&set)).unwrap();
        let loader = set.files.iter().find(|f| f.name == MIGRATION_NAME).expect("the chain loads journeys");
        let load = dir.join(loader.relative_path());
        let applied = std::fs::read(&load).unwrap();
        let next = set.files.last().unwrap().version + 1;
        assert!(update(&tree, server, false).unwrap().is_none(), "nothing to write before the edit");

        let fixture = tree.join("fixtures/journeys/knee-osteoarthritis-treatment.json");
        let text = std::fs::read_to_string(&fixture).unwrap();
        std::fs::write(&fixture, text.replacen("\"title\": \"", "\"title\": \"Revised: ", 1)).unwrap();
        let err = format!("{:#}", check(&tree, &mut db.connect()).unwrap_err());
        assert!(err.contains("1 statement(s) would change rows (journey `knee-osteoarthritis-treatment`)"), "{err}");

        let written = update(&tree, server, false).unwrap().expect("a change to write");
        assert_eq!(written.path, dir.join(format!("journeys/V{next}__{UPDATE_MIGRATION_NAME}.sql")));
        assert!(written.text.lines().nth(2) == Some(migrator::migrations::KEEP_MARKER), "{}", written.text);
        assert!(written.text.contains("'Revised: "), "{}", written.text);
        assert!(written.lock.starts_with("wrote "), "{}", written.lock);
        assert_eq!(std::fs::read(&load).unwrap(), applied, "the applied migration is left as it was");

        let set = migrations_in(&dir).unwrap();
        crate::lock::check(&set, &crate::lock::fresh_schema(server, &set).unwrap()).expect("the lock records it");
        let mut client = db.connect();
        let run = migrator::migrate::run(&mut client, &set).unwrap();
        assert_eq!(run.applied.iter().map(|m| m.version).collect::<Vec<_>>(), [next]);
        let title: String = client
            .query_one("SELECT title FROM journeys_journey WHERE slug = 'knee-osteoarthritis-treatment'", &[])
            .unwrap()
            .get(0);
        assert!(title.starts_with("Revised: "), "{title}");
        check(&tree, &mut client).expect("the migrated database holds the fixtures");
        assert!(update(&tree, server, false).unwrap().is_none(), "nothing more to write");
        std::fs::remove_dir_all(tree).unwrap();
    }
}
