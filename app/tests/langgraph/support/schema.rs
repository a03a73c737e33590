//! The schema as pg_dump prints it, and the reference dump of what the Python library creates.

use std::process::Command;

use app::cluster::{test_server, TestDatabase};

use super::workspace;

/// Returns `pg_dump --schema-only` of `tables` (every table when empty), without its `\restrict` lines.
pub fn schema_dump(url: &str, tables: &[&str]) -> String {
    let mut cmd = Command::new(test_server().bin("pg_dump"));
    cmd.args(["--schema-only", "--dbname", url]);
    for t in tables {
        cmd.args(["--table", &format!("public.{t}")]);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("run pg_dump: {e}"));
    assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
    // pg_dump 15.14+ brackets its output with a random `\restrict` key.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Keeps a dump's statements: no comments, session settings or owners (they vary by server and role).
pub fn statements(dump: &str) -> Vec<String> {
    dump.split(";\n")
        .map(|s| s.lines().filter(|l| !l.starts_with("--") && !l.trim().is_empty()).collect::<Vec<_>>().join("\n"))
        .filter(|s| !s.is_empty())
        .filter(|s| {
            !s.starts_with("SET ") && !s.starts_with("SELECT pg_catalog.set_config") && !s.contains(" OWNER TO ")
        })
        .collect()
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
pub fn reference_schema() -> String {
    let path = workspace().join("xtask/test_data/langgraph-schema.sql");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
