//! What the xtask integration tests share: a private copy of the chain the tests own
//! (`test_data/chains/sdm`), so that tests in other binaries run side by side (nextest runs them
//! so) without taking the squash lock on the workspace, and mean the same after it is squashed.

use std::path::{Path, PathBuf};

/// A copy of the workspace's `migrations/` in a folder of its own, removed on drop.
pub struct Migrations {
    root: PathBuf,
}

impl Migrations {
    /// Copies the owned chain's migrations folder (lock file included).
    pub fn copy(name: &str) -> Migrations {
        let root = std::env::temp_dir().join(format!("sdm-xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../test_data/chains/sdm/migrations"),
            &root.join("migrations"),
        );
        Migrations { root }
    }

    /// The copied `migrations/` folder, as an argument.
    pub fn dir(&self) -> String {
        self.root.join("migrations").to_str().expect("temp paths are UTF-8").to_string()
    }
}

impl Drop for Migrations {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("copy to {}: {e}", target.display()));
        }
    }
}
