//! What the migration tests share: temp folders of migration files, and reading a database's
//! history and tables.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use app::migrate::HISTORY_TABLE;
use app::migrations::MigrationSet;

/// A unique folder under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates the folder.
    pub fn new() -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "sdm-migrate-test-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Writes `content` to `rel` under the folder, creating parent folders.
    pub fn write(&self, rel: &str, content: &str) -> &TempDir {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    /// Returns the folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Reads the folder as a migration set; panics with the reason when it is not one.
    pub fn set(&self) -> MigrationSet {
        MigrationSet::from_dir(&self.0).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Returns the history table's rows as (version, name), oldest first.
pub fn history(client: &mut postgres::Client) -> Vec<(i32, String)> {
    client
        .query(&format!("SELECT version, name FROM {HISTORY_TABLE} ORDER BY version"), &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Whether `table` exists.
pub fn table_exists(client: &mut postgres::Client, table: &str) -> bool {
    client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).unwrap().get(0)
}
