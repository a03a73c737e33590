//! Squash tests that need the product or xtask: databases with rows the app's own workflows write
//! (`existing`), following a squash (`follow`, `twice`) and the runner's refusals. They drive the
//! `squash` crate through its public API; the engine's own tests live in that crate.

pub(crate) mod existing;
mod follow;
mod majors;
mod refusals;
mod twice;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ::squash::{squash_dir, Options, Report};
use devdb::{test_server, Server};

/// A temp folder holding `migrations/` (and a `target/`), removed on drop.
struct Tree {
    root: PathBuf,
}

impl Tree {
    /// Returns a tree holding `files`; the name's prefix and process id let `existing` remove the
    /// trees of processes that are gone.
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

    /// Returns every file under the migrations folder, by relative path.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot(&self.dir())
    }

    fn squash(&self) -> Report {
        self.squash_on(server())
    }

    /// Squashes on `server` rather than the test server.
    fn squash_on(&self, server: &Server) -> Report {
        let options = Options {
            dry_run: false,
            check: false,
            allow_dirty: false,
            target_dir: self.root.join("target"),
            after_step: None,
            quiet: false,
        };
        squash_dir(server, &self.dir(), &options).unwrap_or_else(|e| panic!("squash failed: {e:#}"))
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Returns every file under `dir`, by relative path.
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

fn server() -> &'static Server {
    test_server()
}
