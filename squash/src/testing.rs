//! What the squash engine's tests and those of the commands built on it share: a temp folder
//! holding a chain, squashed with the test server, and a folder's files by path. Compiled for the
//! crate's own tests and, with the `testing` feature, for other crates' tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use devdb::Server;

use migrator::migrations::MigrationSet;

use crate::{unversioned, Options, Outcome, Report};

/// A temp folder holding `migrations/` (and a `target/`), removed on drop.
pub struct Tree {
    /// The folder holding `migrations/` and `target/`.
    pub root: PathBuf,
}

impl Tree {
    /// Returns a tree holding `files` (paths under `migrations/`). The name's prefix and process
    /// id let a test run remove the trees of processes that are gone.
    pub fn new(files: &[(&str, &str)]) -> Tree {
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

    /// The chain's folder.
    pub fn dir(&self) -> PathBuf {
        self.root.join("migrations")
    }

    /// Writes `text` to `path` under the chain's folder.
    pub fn write(&self, path: &str, text: &str) {
        let path = self.dir().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Reads `path` under the chain's folder.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    /// Reads the one file whose path without its version is `name` (`users/users_initial.sql`).
    pub fn read_named(&self, name: &str) -> String {
        let found: Vec<PathBuf> = self.snapshot().into_keys().filter(|p| unversioned(p) == Path::new(name)).collect();
        match found.as_slice() {
            [one] => self.read(&one.display().to_string()),
            _ => panic!("expected one file named {name}, found {found:?}"),
        }
    }

    /// The options a squash of this tree takes: its own `target/`, nothing skipped.
    pub fn options(&self) -> Options {
        Options {
            dry_run: false,
            check: false,
            allow_dirty: false,
            target_dir: self.root.join("target"),
            after_step: None,
            quiet: false,
        }
    }

    /// Squashes the chain on the test server; panics with the error.
    pub fn squash(&self) -> Report {
        self.squash_on(devdb::test_server())
    }

    /// Squashes on `server` rather than the test server (for chains its role may not replay).
    ///
    /// A squash that writes is checked on the way out: the backup holds the folder as it was, and
    /// the folder holds the migrations the report lists, those the squash's proof built.
    pub fn squash_on(&self, server: &Server) -> Report {
        let before = self.snapshot();
        let report =
            crate::squash_dir(server, &self.dir(), &self.options()).unwrap_or_else(|e| panic!("squash failed: {e:#}"));
        if report.outcome == Outcome::Written {
            let backup = report.backup.as_ref().expect("a written squash names its backup");
            assert!(snapshot(backup) == before, "the backup {} is not the folder as it was", backup.display());
            let written: Vec<PathBuf> = MigrationSet::from_dir(&self.dir())
                .unwrap_or_else(|e| panic!("read the squashed folder: {e}"))
                .files
                .iter()
                .map(|f| PathBuf::from(f.relative_path()))
                .collect();
            let listed: Vec<PathBuf> = report.after.iter().map(|f| f.path.clone()).collect();
            assert_eq!(written, listed, "the folder holds the migrations the squash proved");
        }
        report
    }

    /// Runs `squash --check` on the test server: [`Outcome::Unchanged`] when a squash would change
    /// nothing. For asserting that a squashed folder is a fixed point: it tells so as a second
    /// squash does (`tests::chains` checks that both agree), without the second squash's pg_dump
    /// and catalog read.
    pub fn check(&self) -> Report {
        self.check_on(devdb::test_server())
    }

    /// Runs `squash --check` on `server`; panics with the error.
    pub fn check_on(&self, server: &Server) -> Report {
        let options = Options { check: true, ..self.options() };
        crate::squash_dir(server, &self.dir(), &options).unwrap_or_else(|e| panic!("squash --check failed: {e:#}"))
    }

    /// Squashes the chain on the test server, which must fail; returns the error.
    pub fn squash_err(&self) -> String {
        self.squash_err_on(devdb::test_server())
    }

    /// Squashes on `server`, which must fail; returns the error.
    pub fn squash_err_on(&self, server: &Server) -> String {
        match crate::squash_dir(server, &self.dir(), &self.options()) {
            Ok(report) => panic!("squash should fail, but gave:\n{}", report.summary()),
            Err(e) => format!("{e:#}"),
        }
    }

    /// Returns every file under the migrations folder, by relative path.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot(&self.dir())
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Returns every file under `dir`, by relative path.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
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
