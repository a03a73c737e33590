//! `cargo xtask langgraph` against the real Python library (the pinned release and an older one)
//! and a real Postgres, on copies of the chain the tests own (`test_data/chains/sdm`), pinned to
//! the releases each test names. This module holds what the tests share.
//!
//! With `SDM_SKIP_PYTHON=1` at build time, xtask's build script sets `cfg(sdm_skip_python)` and
//! the tests that need a venv are reported as ignored.

mod behind;
mod older_release;
mod recorded;
mod worker;

use std::path::PathBuf;

use devdb::{test_server, TestDatabase};
use migrator::migrations::MigrationSet;
use xshell::Shell;

use super::library::pins;
use super::{Python, Tree};

/// A copy of the owned chain's migrations, and of the workspace's pins and reference schema, in a
/// temp folder, removed on drop.
struct ScratchTree {
    tree: Tree,
}

impl ScratchTree {
    /// Copies the owned chain's migrations (all but those `skip` accepts by file name), and the
    /// workspace's `python/requirements.txt` and reference schema.
    fn copy(name: &str, skip: impl Fn(&str) -> bool) -> ScratchTree {
        let root = std::env::temp_dir().join(format!("sdm-langgraph-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let scratch = ScratchTree { tree: Tree::at(root) };
        let workspace = Tree::at(crate::project_root());
        for file in MigrationSet::from_dir(&crate::test_chain().join("migrations")).unwrap().files {
            if !skip(&file.relative_path()) {
                scratch.write(&format!("migrations/{}", file.relative_path()), &file.sql);
            }
        }
        scratch.write("python/requirements.txt", &std::fs::read_to_string(workspace.requirements()).unwrap());
        scratch.write("xtask/test_data/langgraph-schema.sql", &std::fs::read_to_string(workspace.reference()).unwrap());
        scratch
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.tree.root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.tree.root.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    /// Returns the migration files by relative path.
    fn migrations(&self) -> Vec<String> {
        self.set().files.iter().map(|f| f.relative_path()).collect()
    }

    /// Returns the version a new migration would get.
    fn next_version(&self) -> i32 {
        self.set().files.last().map_or(1, |f| f.version + 1)
    }

    fn set(&self) -> MigrationSet {
        MigrationSet::from_dir(&self.tree.migrations()).unwrap()
    }
}

impl Drop for ScratchTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tree.root);
    }
}

/// Returns a shell at the workspace root, where the scripts under `python/` are.
fn shell() -> Shell {
    let sh = Shell::new().unwrap();
    sh.change_dir(crate::project_root());
    sh
}

/// The release the tests move to, pinned here (the workspace's pins when they were written) so
/// that they keep their meaning when `python/requirements.txt` moves on.
const PINS_3_2_0: &str = "langgraph==1.2.24\nlanggraph-checkpoint-postgres==3.2.0\npsycopg[binary]==3.3.9\n";

/// Pins `scratch` to `requirements` and returns an interpreter that has them: the workspace's
/// venv when its pins are the same, else the venv `target/langgraph-venvs/NAME`, built once per
/// requirements hash.
fn pin(sh: &Shell, scratch: &ScratchTree, requirements: &str, name: &str) -> Python {
    scratch.write("python/requirements.txt", requirements);
    let tree = &scratch.tree;
    let workspace = Tree::at(crate::project_root());
    let python = if pins(&std::fs::read_to_string(workspace.requirements()).unwrap()) == pins(requirements) {
        Python::workspace(sh, &workspace.root).map(|python| Python { requirements: tree.requirements(), ..python })
    } else {
        let venv: PathBuf = workspace.root.join("target/langgraph-venvs").join(name);
        Python::venv(sh, &tree.requirements(), &venv)
    };
    python.unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs `cargo xtask langgraph` on `tree` and returns what it printed; panics with its error.
fn update(python: &Python, tree: &Tree) -> Vec<String> {
    let mut lines = Vec::new();
    super::update(python, test_server(), tree, &mut lines).unwrap_or_else(|e| panic!("{e:#}\n{lines:#?}"));
    lines
}

/// Runs `cargo xtask langgraph --check` on `tree`: what it printed, or its error.
fn check(python: &Python, tree: &Tree) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    match super::check(python, test_server(), tree, &mut lines) {
        Ok(()) => Ok(lines),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// Returns the steps `checkpoint_migrations` and `store_migrations` record in `db`.
fn recorded_steps(db: &TestDatabase<'_>) -> (Vec<i32>, Vec<i32>) {
    let mut client = db.connect();
    (super::steps::CHECKPOINTER.recorded(&mut client).unwrap(), super::steps::STORE.recorded(&mut client).unwrap())
}

/// Whether table `table` of `db` has column `column`.
fn has_column(db: &TestDatabase<'_>, table: &str, column: &str) -> bool {
    db.connect()
        .query_opt(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 \
             AND column_name = $2",
            &[&table, &column],
        )
        .unwrap()
        .is_some()
}
