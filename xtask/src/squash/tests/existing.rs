//! Databases that exist before a squash: the owned SDM chain (`test_data/chains/sdm`) applied with
//! rows in it (users, conversations with checkpoints, store items), the squashed folder they
//! follow, and what the follow tests compare (history rows, row hashes, pg_dump schemas).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use app::assistant::GuideAssistant;
use app::extractor::PhraseExtractor;
use app::langgraph::store;
use devdb::{Schema, TestDatabase};
use migrator::migrate::HISTORY_TABLE;
use migrator::migrations::MigrationSet;
use postgres::Client;
use serde_json::json;

use super::{server, snapshot, Tree};

/// The owned chain's migrations folder.
pub(super) fn sdm_chain_dir() -> PathBuf {
    crate::test_chain().join("migrations")
}

/// Returns the owned chain as a set.
pub(super) fn sdm_chain() -> MigrationSet {
    MigrationSet::from_dir(&sdm_chain_dir()).unwrap_or_else(|e| panic!("{e}"))
}

/// A folder holding the owned chain squashed once, shared by the tests of this process (one
/// squash costs seconds); tests copy it before changing it.
pub(crate) fn squashed_once() -> &'static Path {
    static SQUASHED: OnceLock<Tree> = OnceLock::new();
    SQUASHED
        .get_or_init(|| {
            remove_folders_of_gone_processes();
            let tree = copy_of(&sdm_chain_dir());
            let report = tree.squash();
            assert_eq!(report.after.len(), 8, "{}", report.summary());
            tree
        })
        .root
        .as_path()
}

/// Removes the shared folders earlier test processes left (a static is never dropped).
fn remove_folders_of_gone_processes() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix("sdm-squash-test-").and_then(|rest| rest.split('-').next());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Returns a new tree whose migrations folder is a copy of `dir` (a migrations folder).
pub(super) fn copy_of(dir: &Path) -> Tree {
    let tree = Tree::new(&[]);
    for (rel, bytes) in snapshot(dir) {
        tree.write(rel.to_str().unwrap(), std::str::from_utf8(&bytes).unwrap());
    }
    tree
}

/// Returns a database migrated with `set` (a clone of its template) with rows written by the
/// app's own workflows: two users onboarded, a chat (checkpoints, point statuses), store items.
pub(super) fn database_with_rows(set: &MigrationSet) -> TestDatabase<'static> {
    let db = server().test_database(Some(set)).unwrap_or_else(|e| panic!("{e}"));
    let mut client = db.connect();
    for (email, slug) in
        [("ann@example.com", "knee-osteoarthritis-treatment"), ("bo@example.org", "type-2-diabetes-second-line")]
    {
        app::users::create(&mut client, email, "Someone").unwrap();
        let started = app::onboarding::onboard(&mut client, email, slug, &serde_json::Map::new()).unwrap();
        let id = started.conversation.id;
        for message in ["Stairs are the hardest part for me", "I worry about surgery"] {
            app::chat::turn(&mut client, id, message, &GuideAssistant, &PhraseExtractor).unwrap();
        }
        let user = app::users::by_email(&mut client, email).unwrap();
        store::put(&mut client, &store::user_memories(user.id), "goal", &json!({"text": "walk the dog"})).unwrap();
    }
    db
}

/// A history row exactly as stored: version, name, applied_on, checksum.
pub type HistoryRow = (i32, Option<String>, Option<String>, Option<String>);

/// Returns the history table's rows exactly as stored, to show a refusal changed nothing.
pub(super) fn history_rows(client: &mut Client) -> Vec<HistoryRow> {
    client
        .query(&format!("SELECT version, name, applied_on, checksum FROM {HISTORY_TABLE} ORDER BY version"), &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

/// Returns `(version, name, checksum)` of the history, to compare with a set.
pub(super) fn history_labels(client: &mut Client) -> Vec<(i32, String, String)> {
    history_rows(client).into_iter().map(|(v, n, _, c)| (v, n.unwrap(), c.unwrap())).collect()
}

/// Returns `(version, name, checksum)` of a set's files.
pub(super) fn set_labels(set: &MigrationSet) -> Vec<(i32, String, String)> {
    set.files.iter().map(|f| (f.version, f.name.clone(), f.checksum().to_string())).collect()
}

/// Returns every table's row hash (and every sequence's position), the history table left out.
pub(super) fn row_hashes(client: &mut Client) -> BTreeMap<String, String> {
    ::squash::row_hashes(client).unwrap_or_else(|e| panic!("{e:#}")).0
}

/// Asserts the database `db` has the schema a fresh database migrated with `set` has, as
/// pg_dump shows it (independently of the catalog snapshot the runner compares), but for the
/// comment that says which squash it followed.
pub(super) fn assert_schema_of_fresh(db: &TestDatabase<'_>, set: &MigrationSet) {
    let fresh = server().test_database(Some(set)).unwrap();
    let dumped = Schema::dump(server(), db.name(), &[]).unwrap().text();
    let followed = format!("COMMENT ON TABLE public.{HISTORY_TABLE} IS 'sdm: followed squash ");
    assert!(dumped.contains(&followed), "the history table says which squash it followed:\n{dumped}");
    // Blank lines aside, as pg_dump writes the comment in a block of its own.
    let lines = |text: &str| -> String {
        text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with(&followed)).collect::<Vec<_>>().join("\n")
    };
    let expected = Schema::parse(&lines(&Schema::dump(server(), fresh.name(), &[]).unwrap().text()));
    let actual = Schema::parse(&lines(&dumped));
    if let Some(diff) = expected.diff(&actual) {
        panic!("the database's schema differs from a fresh one's (- fresh, + followed):\n{diff}");
    }
}

/// Returns `set`'s first `n` migrations as a set of their own (no records), as a database that
/// stopped part-way through the chain applied them.
pub(super) fn first(set: &MigrationSet, n: usize) -> MigrationSet {
    MigrationSet { files: set.files[..n].to_vec(), ..MigrationSet::default() }
}
