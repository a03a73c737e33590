//! Squash against a real Postgres: chains written into temp folders, then squashed. This module
//! holds the fixtures the tests share; the tests are grouped by concern in its submodules. Tests
//! whose databases the product's own workflows fill live in xtask (`xtask/src/squash/tests/`).

mod chains;
mod cycles;
mod golden;
mod kept;
mod no_transaction;
mod objects;
mod privileges;
mod real_chains;
mod roles;
mod roundtrip;
mod safety;
mod shaping;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use devdb::{test_server, Privileges, Schema, Server};
use migrator::migrations::MigrationSet;

use super::testing::{snapshot, Tree};
use super::{prove, unversioned, Report};

/// Returns the workspace root (the parent of this crate's folder).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Returns the folder of the chain the tests own (`migrations/`, `fixtures/`): the SDM platform's
/// pre-launch chain as it stood before its first squash. The workspace's own `migrations/` change
/// with every squash and migration, so no test asserts on them.
fn test_chain() -> PathBuf {
    project_root().join("test_data/chains/sdm")
}

fn server() -> &'static Server {
    test_server()
}

/// Returns the new set's files as `<module>/<name>.sql`, in order, without their versions: the
/// tests say what a squash writes, and how it numbers the files has a test of its own.
fn paths(report: &Report) -> Vec<String> {
    report.after.iter().map(|f| unversioned(&f.path).display().to_string()).collect()
}

/// Builds a fresh database from each folder and proves them equal, independently of the squash
/// (whose own proof every squash runs; `Tree::squash` checks that the folder then holds what it
/// proved).
fn assert_equivalent(old_dir: &Path, new_dir: &Path) {
    let server = server();
    let old = server.scratch_database("test_old").unwrap();
    let new = server.scratch_database("test_new").unwrap();
    migrator::migrate::migrate(&mut old.connect(), &MigrationSet::from_dir(old_dir).unwrap()).unwrap();
    migrator::migrate::migrate(&mut new.connect(), &MigrationSet::from_dir(new_dir).unwrap()).unwrap();
    let old_schema = Schema::dump_with(server, old.name(), &[], Privileges::Included).unwrap();
    prove::prove(server, &old_schema, &old, &new).unwrap_or_else(|e| panic!("{e:#}"));
}

/// Writes a small chain over two modules: rows, a kept migration, and a file that is not SQL.
fn small_chain(tree: &Tree) {
    tree.write(
        "users/V1__users_accounts.sql",
        "CREATE TABLE users_account (id serial PRIMARY KEY, email text NOT NULL);\n",
    );
    tree.write(
        "evidence/V2__evidence_documents.sql",
        "CREATE TABLE evidence_document (id serial PRIMARY KEY, owner_id integer REFERENCES users_account(id));\n",
    );
    tree.write("users/V3__users_name.sql", "ALTER TABLE users_account ADD COLUMN name text;\nINSERT INTO users_account (email) VALUES ('a@example.com');\n");
    tree.write(
        "evidence/V4__evidence_setup_store.sql",
        "-- Sets up tables another library manages.\n-- squash: keep\nCREATE TABLE store (prefix text NOT NULL, key text NOT NULL, PRIMARY KEY (prefix, key));\nINSERT INTO store VALUES ('a', 'b');\n",
    );
    tree.write(
        "evidence/V5__evidence_title.sql",
        "ALTER TABLE evidence_document ADD COLUMN title text NOT NULL DEFAULT '';\n",
    );
    tree.write("README.md", "Migrations of the test chain.\n");
}

/// Returns the small chain's folder as written, and as a squash leaves it (which must differ);
/// squashed once per test process, for every test that compares with it.
fn small_chain_before_and_after() -> (BTreeMap<PathBuf, Vec<u8>>, BTreeMap<PathBuf, Vec<u8>>) {
    type Folder = BTreeMap<PathBuf, Vec<u8>>;
    static BEFORE_AND_AFTER: std::sync::OnceLock<(Folder, Folder)> = std::sync::OnceLock::new();
    BEFORE_AND_AFTER
        .get_or_init(|| {
            let reference = Tree::new(&[]);
            small_chain(&reference);
            let old = reference.snapshot();
            reference.squash();
            let new = reference.snapshot();
            assert_ne!(old, new, "the squash changes the small chain");
            (old, new)
        })
        .clone()
}
