//! The schema as pg_dump prints it, and the reference dump of what the Python library creates.

use devdb::{test_server, Schema, TestDatabase};

use super::workspace;

/// Returns the schema of `db` (only `tables` unless empty), as pg_dump prints it.
pub fn schema_of(db: &TestDatabase, tables: &[&str]) -> Schema {
    Schema::dump(test_server(), db.name(), tables).unwrap_or_else(|e| panic!("pg_dump: {}", app::db::with_sources(&e)))
}

/// Fails with the difference unless `actual` is the same schema as `expected`.
pub fn assert_same_schema(expected: &Schema, actual: &Schema, what: &str) {
    if let Some(diff) = expected.diff(actual) {
        panic!("{what} (- expected, + actual):\n{diff}");
    }
}

/// Returns the set-up steps recorded in `checkpoint_migrations` and `store_migrations`.
pub fn migration_rows(db: &TestDatabase) -> (Vec<i32>, Vec<i32>) {
    let mut client = db.connect();
    let versions = |client: &mut postgres::Client, table: &str| -> Vec<i32> {
        client.query(&format!("SELECT v FROM {table} ORDER BY v"), &[]).unwrap().iter().map(|r| r.get(0)).collect()
    };
    (versions(&mut client, "checkpoint_migrations"), versions(&mut client, "store_migrations"))
}

/// Returns the committed dump of the tables the pinned Python library creates.
pub fn reference_schema() -> Schema {
    let path = workspace().join("xtask/test_data/langgraph-schema.sql");
    Schema::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
}
