//! LangGraph.js's `PostgresSaver.setup()` changes nothing on a database our migrations made, its
//! own validation suite passes on our tables, and its store cannot share the Python store's
//! table: it changes nothing there either.

use std::process::Command;

use devdb::test_database;
use serde_json::{json, Value};

use crate::support::js::Js;
use crate::support::python::Python;
use crate::support::schema::{assert_same_schema, migration_rows, schema_of};
use crate::support::sdm::{chat, onboard};
use crate::support::workspace;

#[test]
#[cfg_attr(sdm_skip_js, ignore = "SDM_SKIP_JS=1; to run: python3 js/setup-node-modules.py, then unset it")]
fn js_setup_changes_nothing_on_a_migrated_database() {
    let js = Js::find();
    let db = test_database();
    let before = schema_of(&db, &[]);
    let rows_before = migration_rows(&db);

    let reported = js.run(&["setup", db.url()]);

    assert_eq!(reported["checkpoint_migrations"], json!(rows_before.0), "the JS and Python step lists line up");
    assert_eq!(migration_rows(&db), rows_before, "setup() recorded migration steps");
    assert_same_schema(&before, &schema_of(&db, &[]), "the JS setup() changed the schema");
}

#[test]
#[cfg_attr(sdm_skip_js, ignore = "SDM_SKIP_JS=1; to run: python3 js/setup-node-modules.py, then unset it")]
#[cfg_attr(
    all(sdm_skip_python, not(sdm_skip_js)),
    ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it"
)]
fn the_js_store_cannot_write_to_the_shared_store_table_and_changes_nothing() {
    let (js, python) = (Js::find(), Python::find());
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let turn = chat(&db, &ada, "Climbing stairs is the hardest part");
    let memory_key = turn["memory_key"].as_str().expect("the chat turn stored a memory").to_string();
    let before = schema_of(&db, &[]);
    let rows_before = migration_rows(&db);

    // Same table and step-table names, other columns: its setup() finds every step recorded ...
    let setup = js.run(&["store-setup", db.url(), "public"]);
    assert_eq!(setup["store_migrations"], json!(rows_before.1));
    // ... and its first write fails on the column the Python store does not have, writing nothing.
    let refused = js.run_failing(&["store-put", db.url(), "public", &ada.memories(), "from-js", r#"{"text": "x"}"#]);
    assert!(refused.contains(r#"column "namespace_path" of relation "store" does not exist"#), "{refused}");
    assert_eq!(migration_rows(&db), rows_before);
    assert_same_schema(&before, &schema_of(&db, &[]), "the JS store changed the schema");
    let found = python.run(&["store-search", db.url(), &ada.memories()]);
    let keys: Vec<&str> = found["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, [memory_key.as_str()], "the app's memory is all the shared store holds");
}

#[test]
#[cfg_attr(sdm_skip_js, ignore = "SDM_SKIP_JS=1; to run: python3 js/setup-node-modules.py, then unset it")]
fn the_js_checkpointer_validation_suite_passes_on_our_tables() {
    let _js = Js::find();
    let db = test_database();
    let report = std::env::temp_dir().join(format!("sdm-js-validation-{}.json", std::process::id()));
    let js_dir = workspace().join("js");
    let node = std::env::var_os("SDM_NODE").unwrap_or_else(|| "node".into());
    // The URL goes through the environment: it may hold a password.
    let run = Command::new(node)
        .arg(js_dir.join("node_modules/vitest/vitest.mjs"))
        .args(["run", "--config"])
        .arg(js_dir.join("vitest.config.mjs"))
        .args(["--reporter=json", "--outputFile"])
        .arg(&report)
        .env("SDM_VALIDATE_URL", db.url())
        .current_dir(&js_dir)
        .output()
        .expect("run vitest");
    let summary: Value =
        std::fs::read_to_string(&report).ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_else(|| {
            panic!("vitest wrote no report ({}):\n{}", run.status, String::from_utf8_lossy(&run.stderr))
        });
    let _ = std::fs::remove_file(&report);
    let files = summary["testResults"].as_array().expect("testResults");
    // A file that did not load fails with a message and no tests; a test fails with its name.
    let broken: Vec<&str> =
        files.iter().filter(|f| f["status"] == json!("failed")).map(|f| f["message"].as_str().unwrap_or("?")).collect();
    let failed: Vec<&str> = files
        .iter()
        .flat_map(|file| file["assertionResults"].as_array().into_iter().flatten())
        .filter(|t| t["status"] == json!("failed"))
        .map(|t| t["fullName"].as_str().unwrap_or("?"))
        .chain(broken.into_iter().filter(|m| !m.is_empty()))
        .collect();
    assert!(failed.is_empty(), "the validation suite failed on our tables: {failed:#?}");
    let passed = summary["numPassedTests"].as_u64().expect("numPassedTests");
    assert!(passed > 0 && run.status.success(), "vitest ({}) passed {passed} tests:\n{summary:#}", run.status);
    assert_eq!(summary["numFailedTests"], json!(0));
    eprintln!(
        "langgraph-checkpoint-validation: {passed} of {} checks passed ({} skipped)",
        summary["numTotalTests"], summary["numPendingTests"]
    );
}
