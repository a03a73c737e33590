//! What the engine's tests share: temp folders of migration files, and reading a database's
//! history and tables.

use std::path::Path;

use migrator::migrate::HISTORY_TABLE;
use migrator::migrations::MigrationSet;

/// A temp folder of migration files, removed on drop.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// Creates the folder.
    pub fn new() -> TempDir {
        TempDir(tempfile::Builder::new().prefix("sdm-migrate-test-").tempdir().unwrap())
    }

    /// Writes `content` to `rel` under the folder, creating parent folders.
    pub fn write(&self, rel: &str, content: &str) -> &TempDir {
        let path = self.0.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    /// Returns the folder.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Reads the folder as a migration set; panics with the reason when it is not one.
    pub fn set(&self) -> MigrationSet {
        MigrationSet::from_dir(self.path()).unwrap_or_else(|e| panic!("{e}"))
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
