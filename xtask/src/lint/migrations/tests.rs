//! The migration lint against the real squawk, on the chain the tests own: the chain passes (it is
//! exempt), a new migration's finding fails naming file, line and rule, and `-- squawk-ignore`
//! accepts one. The workspace's own migrations pass too, whatever they are.

use std::path::{Path, PathBuf};

use migrator::migrations::MigrationSet;
use xshell::Shell;

use super::{check, CONFIG};
use crate::verify::tests::copy_dir;

/// A copy of a `migrations/` folder (records and lock file included) and of the owned chain's
/// squawk configuration, removed on drop.
struct Tree(PathBuf);

impl Tree {
    /// A copy of the owned chain's migrations.
    fn new(name: &str) -> Tree {
        Tree::copy_of(&crate::test_chain(), name)
    }

    /// A copy of the `migrations/` folder under `root`.
    fn copy_of(root: &Path, name: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!("sdm-lint-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&root.join("migrations"), &dir.join("migrations"));
        std::fs::copy(crate::test_chain().join(CONFIG), dir.join(CONFIG)).unwrap();
        Tree(dir)
    }

    fn add(&self, path: &str, sql: &str) {
        write(&self.0.join("migrations").join(path), sql);
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn squawk() -> PathBuf {
    let sh = Shell::new().unwrap();
    sh.change_dir(crate::project_root());
    let [squawk, _] = crate::lint::tools(&sh).unwrap_or_else(|e| panic!("{e:#}"));
    squawk
}

#[test]
fn the_owned_chain_is_exempt_and_passes() {
    let tree = Tree::new("exempt");
    let linted = check(&tree.0, &squawk()).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(linted.to_string(), "no migrations to lint after V23 (the chain up to it is exempt)");
}

#[test]
fn the_workspace_migrations_pass() {
    check(&crate::project_root(), &squawk()).unwrap_or_else(|e| panic!("{e:#}"));
}

#[test]
fn a_required_column_without_a_default_fails_naming_file_line_and_rule() {
    let tree = Tree::new("required");
    tree.add(
        "users/V24__users_phone.sql",
        "-- Every account has a phone number.\nALTER TABLE users_account ADD COLUMN phone text NOT NULL;\n",
    );
    let error = format!("{:#}", check(&tree.0, &squawk()).unwrap_err());
    assert!(error.contains("migrations/users/V24__users_phone.sql:2:27: adding-required-field"), "{error}");
    assert!(error.contains("squawk-ignore"), "says how to accept a finding: {error}");
    assert!(!error.contains("V1__"), "exempt migrations are not linted: {error}");
}

#[test]
fn after_a_squash_its_set_is_exempt_and_the_migrations_after_it_are_linted() {
    let tree = Tree::copy_of(crate::squash::tests::existing::squashed_once(), "squashed");
    let set = MigrationSet::from_dir(&tree.0.join("migrations")).unwrap();
    let last = set.files.last().unwrap().version;
    // The squash numbers its set after the chain, past the pre-launch baseline (V23): the record,
    // not the baseline, makes the set exempt, and a migration after it is linted.
    let first = set.files.first().unwrap().version;
    assert!(first > 23, "the squashed set is numbered after the chain: V{first}");
    let linted = check(&tree.0, &squawk()).unwrap_or_else(|e| panic!("the squashed set is exempt: {e:#}"));
    assert_eq!(
        linted.to_string(),
        format!("no migrations to lint after V{last} (squash 1's set, up to it, is exempt)")
    );

    let next = last + 1;
    tree.add(&format!("users/V{next}__users_phone.sql"), "ALTER TABLE users_account ADD COLUMN phone text NOT NULL;\n");
    let error = format!("{:#}", check(&tree.0, &squawk()).unwrap_err());
    assert!(
        error.contains(&format!("migrations/users/V{next}__users_phone.sql:1:27: adding-required-field")),
        "{error}"
    );
    assert!(error.contains(&format!("in migrations added after V{last}:")), "{error}");
    let named: Vec<&str> = error.lines().filter(|l| l.trim_start().starts_with("migrations/")).collect();
    assert!(named.iter().all(|l| l.contains(&format!("V{next}__"))), "only the new file is linted: {error}");
}

#[test]
fn a_finding_accepted_in_the_migration_passes() {
    let tree = Tree::new("accepted");
    tree.add(
        "users/V24__users_phone.sql",
        "SET LOCAL lock_timeout = '1s';\nSET LOCAL statement_timeout = '5s';\n\
         -- The table is empty in every deployment, so no row lacks a phone number.\n\
         -- squawk-ignore adding-required-field\n\
         ALTER TABLE users_account ADD COLUMN phone text NOT NULL;\n",
    );
    let linted = check(&tree.0, &squawk()).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(linted.to_string(), "1 migration(s) after V23 (the chain up to it is exempt) pass");
}

#[test]
fn a_non_concurrent_index_fails_and_a_no_transaction_migration_is_linted_as_one() {
    let tree = Tree::new("index");
    tree.add(
        "memory/V24__memory_status_idx.sql",
        "CREATE INDEX memory_status_idx ON memory_conversation_point (status);\n",
    );
    let error = format!("{:#}", check(&tree.0, &squawk()).unwrap_err());
    assert!(error.contains("V24__memory_status_idx.sql:1:1: require-concurrent-index-creation"), "{error}");

    let concurrent = "SET lock_timeout = '1s';\nSET statement_timeout = '10min';\n\
                      CREATE INDEX CONCURRENTLY IF NOT EXISTS memory_status_idx ON memory_conversation_point (status);\n";
    let tree = Tree::new("in-transaction");
    tree.add("memory/V24__memory_status_idx.sql", concurrent);
    let error = format!("{:#}", check(&tree.0, &squawk()).unwrap_err());
    assert!(error.contains("ban-concurrent-index-creation-in-transaction"), "{error}");

    let tree = Tree::new("no-transaction");
    tree.add("memory/V24__memory_status_idx.sql", &format!("-- no-transaction\n{concurrent}"));
    check(&tree.0, &squawk()).unwrap_or_else(|e| panic!("a concurrent index outside a transaction is fine: {e:#}"));
}

#[test]
fn a_broken_baseline_is_named() {
    let tree = Tree::new("baseline");
    let config = tree.0.join(CONFIG);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("exempt_through_version = 23", "exempt_through_version = V23");
    std::fs::write(&config, text).unwrap();
    let error = format!("{:#}", check(&tree.0, &squawk()).unwrap_err());
    assert!(
        error.contains(".squawk.toml:") && error.contains("exempt_through_version must be a migration version"),
        "{error}"
    );
}
