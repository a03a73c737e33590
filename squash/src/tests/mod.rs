//! Squash against a real Postgres: chains written into temp folders, then squashed. This module
//! holds the fixtures the tests share; the tests are grouped by concern in its submodules. Tests
//! whose databases the product's own workflows fill live in xtask (`xtask/src/squash/tests/`).

mod chains;
mod convert;
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use devdb::{test_server, Privileges, Schema, Server};
use migrator::migrations::MigrationSet;

use super::{prove, squash_dir, unversioned, Options, Report};

/// A temp folder holding `migrations/` (and a `target/`), removed on drop.
struct Tree {
    root: PathBuf,
}

impl Tree {
    fn new(files: &[(&str, &str)]) -> Tree {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("sdm-squash-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("migrations")).unwrap();
        let tree = Tree { root };
        for (path, sql) in files {
            tree.write(path, sql);
        }
        tree
    }

    fn dir(&self) -> PathBuf {
        self.root.join("migrations")
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.dir().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    /// Reads the one file whose path without its version is `name` (`users/users_initial.sql`).
    fn read_named(&self, name: &str) -> String {
        let found: Vec<PathBuf> = self.snapshot().into_keys().filter(|p| unversioned(p) == Path::new(name)).collect();
        match found.as_slice() {
            [one] => self.read(&one.display().to_string()),
            _ => panic!("expected one file named {name}, found {found:?}"),
        }
    }

    fn options(&self) -> Options {
        Options {
            dry_run: false,
            check: false,
            allow_dirty: false,
            target_dir: self.root.join("target"),
            after_step: None,
            quiet: false,
        }
    }

    fn squash(&self) -> Report {
        self.squash_on(server())
    }

    /// Squashes on `server` rather than the test server (for chains its role may not replay).
    fn squash_on(&self, server: &Server) -> Report {
        squash_dir(server, &self.dir(), &self.options()).unwrap_or_else(|e| panic!("squash failed: {e:#}"))
    }

    fn squash_err(&self) -> String {
        self.squash_err_on(server())
    }

    fn squash_err_on(&self, server: &Server) -> String {
        match squash_dir(server, &self.dir(), &self.options()) {
            Ok(report) => panic!("squash should fail, but gave:\n{}", report.summary()),
            Err(e) => format!("{e:#}"),
        }
    }

    /// Returns every file under the migrations folder, by relative path.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot(&self.dir())
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.insert(path.strip_prefix(base).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

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

/// Builds a fresh database from each folder and proves them equal, independently of the squash.
fn assert_equivalent(old_dir: &Path, new_dir: &Path) {
    assert_equivalent_on(server(), old_dir, new_dir);
}

/// Does [`assert_equivalent`] on `server`.
fn assert_equivalent_on(server: &Server, old_dir: &Path, new_dir: &Path) {
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
