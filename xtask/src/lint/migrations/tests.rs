//! The migration lint against the real squawk: the workspace's chain passes (it is exempt), a new
//! migration's finding fails naming file, line and rule, and `-- squawk-ignore` accepts one.

use std::path::PathBuf;

use app::migrations::MigrationSet;
use xshell::Shell;

use super::{check, CONFIG};

/// A copy of the workspace's migrations and squawk configuration, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let root = crate::project_root();
        let dir = std::env::temp_dir().join(format!("sdm-lint-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for file in MigrationSet::from_dir(&root.join("migrations")).unwrap().files {
            write(&dir.join("migrations").join(file.relative_path()), &file.sql);
        }
        std::fs::copy(root.join(CONFIG), dir.join(CONFIG)).unwrap();
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

fn write(path: &std::path::Path, text: &str) {
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
fn the_workspace_chain_is_exempt_and_passes() {
    let linted = check(&crate::project_root(), &squawk()).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(linted.to_string().contains("after V23"), "{linted}");
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
    assert_eq!(linted.to_string(), "1 migration(s) after V23 pass");
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
