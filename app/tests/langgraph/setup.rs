//! Python's `setup()` changes nothing on a database our migrations made, and the committed
//! reference schema is what the pinned library creates.

use std::process::Command;

use app::langgraph::LANGGRAPH_TABLES;
use devdb::{empty_database, test_database, test_server, Schema};
use serde_json::json;

use crate::support::python::Python;
use crate::support::schema::{assert_same_schema, migration_rows, reference_schema, schema_of};
use crate::support::workspace;

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn python_setup_changes_nothing_on_a_migrated_database() {
    let python = Python::find();
    let db = test_database();
    let before = schema_of(&db, &[]);
    let rows_before = migration_rows(&db);
    // How many steps depends on the pinned release (`cargo xtask langgraph --check` compares them
    // with the library's lists); setup() adding none is what proves they are all there.
    for (table, steps) in [("checkpoint_migrations", &rows_before.0), ("store_migrations", &rows_before.1)] {
        assert!(!steps.is_empty() && steps.iter().copied().eq(0..steps.len() as i32), "{table} records {steps:?}");
    }

    let reported = python.run(&["setup", db.url()]);

    assert_eq!(reported["checkpoint_migrations"], json!(rows_before.0));
    assert_eq!(reported["store_migrations"], json!(rows_before.1));
    assert_eq!(migration_rows(&db), rows_before, "setup() recorded migration steps");
    assert_same_schema(&before, &schema_of(&db, &[]), "setup() changed the schema");
    // And the tables are exactly the library's own.
    assert_same_schema(&reference_schema(), &schema_of(&db, &LANGGRAPH_TABLES), "our LangGraph tables differ");
}

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn the_reference_schema_is_what_the_pinned_library_creates() {
    let python = Python::find();
    let db = empty_database();
    let out = std::env::temp_dir().join(format!("sdm-langgraph-reference-{}.sql", std::process::id()));
    let run = Command::new(python.exe)
        .arg(workspace().join("python").join("langgraph_reference.py"))
        .arg(db.url())
        .arg(&out)
        .env("PG_DUMP", test_server().bin("pg_dump").unwrap())
        .output()
        .expect("run langgraph_reference.py");
    assert!(run.status.success(), "langgraph_reference.py failed:\n{}", String::from_utf8_lossy(&run.stderr));
    let generated = std::fs::read_to_string(&out).expect("read the generated schema");
    let _ = std::fs::remove_file(&out);
    assert_same_schema(
        &reference_schema(),
        &Schema::parse(&generated),
        "xtask/test_data/langgraph-schema.sql is stale: run `cargo xtask langgraph` and commit the result",
    );
}
