//! Which steps are missing, from what our migrations record (no Python needed): every step after
//! the last one recorded, and a clear error for records the library could not have made.

use super::super::library::Library;
use super::super::steps::{CHECKPOINTER, STORE};

fn library(checkpointer: usize, store: usize) -> Library {
    Library {
        versions: [("langgraph-checkpoint-postgres".to_string(), "9.9.9".to_string())].into(),
        checkpointer: (0..checkpointer).map(|v| format!("SELECT {v};")).collect(),
        store: (0..store).map(|v| format!("SELECT {v};")).collect(),
        vector: Vec::new(),
        reference: String::new(),
    }
}

#[test]
fn missing_steps_are_those_after_the_last_recorded() {
    let library = library(10, 4);
    assert_eq!(CHECKPOINTER.missing(&(0..=8).collect::<Vec<_>>(), &library).unwrap(), 9..10);
    assert_eq!(CHECKPOINTER.missing(&(0..=9).collect::<Vec<_>>(), &library).unwrap(), 10..10);
    assert_eq!(STORE.missing(&[], &library).unwrap(), 0..4, "nothing recorded: every step");
}

#[test]
fn a_gap_in_the_records_is_an_error_naming_the_step() {
    let err = format!("{:#}", CHECKPOINTER.missing(&[0, 1, 3], &library(10, 4)).unwrap_err());
    assert_eq!(
        err,
        "checkpoint_migrations records checkpointer steps v0, v1, v3, without step 2: PostgresSaver.setup() runs \
         only the steps after the last one recorded, so it would never apply the missing ones; fix the migration \
         that records them"
    );
}

#[test]
fn records_beyond_the_library_ask_for_a_newer_pin() {
    let err = format!("{:#}", STORE.missing(&[0, 1, 2, 3], &library(10, 2)).unwrap_err());
    assert_eq!(
        err,
        "our migrations record store steps v0..v3, but langgraph-checkpoint-postgres 9.9.9 has only v0..v1: pin a \
         release at least as new in python/requirements.txt (applied steps cannot be taken back)"
    );
}

#[test]
fn the_migration_applies_the_steps_then_records_them() {
    let mut library = library(10, 4);
    library.checkpointer[9] =
        "\n    CREATE INDEX CONCURRENTLY IF NOT EXISTS w_idx ON checkpoint_writes(task_id)\n    ".into();
    let file = CHECKPOINTER.migration(&library, 8..10, 24, std::path::Path::new("migrations"), false);
    assert_eq!(file.relative_path(), "llmchat/V24__upgrade_langgraph_checkpointer_to_v9.sql");
    assert!(file.keep, "kept across squashes");
    assert!(file.sql.contains("\n-- The library builds indexes CONCURRENTLY"), "{}", file.sql);
    let body = file.sql.split_once("\n\n").unwrap().1;
    assert_eq!(
        body,
        "-- v8\nSELECT 8;\n\n-- v9\nCREATE INDEX IF NOT EXISTS w_idx ON checkpoint_writes(task_id);\n\n\
         INSERT INTO checkpoint_migrations (v)\nSELECT v FROM generate_series(8, 9) AS v\nON CONFLICT (v) DO NOTHING;\n"
    );
    let store = STORE.migration(&library, 0..4, 25, std::path::Path::new("migrations"), false);
    assert_eq!(store.relative_path(), "memory/V25__setup_langgraph_store.sql");
    assert!(store.sql.contains("CREATE TABLE IF NOT EXISTS store_migrations"), "{}", store.sql);
    assert!(!store.sql.contains("CONCURRENTLY"), "no step was made plain: {}", store.sql);
    let flat = STORE.migration(&library, 0..4, 25, std::path::Path::new("migrations"), true);
    assert_eq!(
        (flat.relative_path(), flat.path),
        ("V25__setup_langgraph_store.sql".into(), "migrations/V25__setup_langgraph_store.sql".into())
    );
}
