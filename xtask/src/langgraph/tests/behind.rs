//! A tree whose checkpointer migration stops at step 8: `--check` names step 9, the command adds
//! one migration for it, and then `--check` passes and a fresh database has `task_path`. And a
//! tree that records every step but lacks what one makes is refused, with nothing written.

use devdb::test_server;

use super::{check, has_column, pin, recorded_steps, shell, update, ScratchTree, PINS_3_2_0};
use crate::langgraph::Python;

/// Copies the owned chain (without later upgrades) pinned to 3.2.0, with that
/// library's reference schema; returns the path of the checkpointer's set-up migration in it.
fn tree_on_3_2_0(name: &str) -> (ScratchTree, Python, String) {
    let scratch = ScratchTree::copy(name, |path| path.contains("__upgrade_langgraph_"));
    let python = pin(&shell(), &scratch, PINS_3_2_0, "langgraph-checkpoint-postgres-3.2.0");
    let library = python.describe(test_server()).unwrap_or_else(|e| panic!("{e:#}"));
    scratch.write("xtask/test_data/langgraph-schema.sql", &library.reference);
    let setup = scratch.migrations().into_iter().find(|m| m.ends_with("__setup_langgraph_checkpointer.sql"));
    (scratch, python, format!("migrations/{}", setup.expect("a checkpointer set-up migration")))
}

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn a_checkpointer_stopping_at_v8_gets_one_migration_for_step_9() {
    // The owned chain's set-up migration (steps v0..v9) on 3.2.0 (v0..v9), less step 9.
    let (scratch, python, path) = tree_on_3_2_0("behind");
    let migrations = scratch.migrations();
    let v9 = "-- v9\nALTER TABLE checkpoint_writes ADD COLUMN IF NOT EXISTS task_path TEXT NOT NULL DEFAULT '';\n\n";
    let sql = scratch.read(&path);
    assert!(sql.contains(v9) && sql.contains("generate_series(0, 9)"), "{path} has step 9 to take out");
    scratch.write(&path, &sql.replace(v9, "").replace("generate_series(0, 9)", "generate_series(0, 8)"));
    let tree = &scratch.tree;

    let err = check(&python, tree).unwrap_err();
    assert_eq!(
        err,
        "the migrations are behind langgraph-checkpoint-postgres 3.2.0: checkpointer step 9 is missing (they record \
         v0..v8, the library has v0..v9)\nRun `cargo xtask langgraph` and commit the result."
    );

    let lines = update(&python, tree);
    let expected = format!("llmchat/V{}__upgrade_langgraph_checkpointer_to_v9.sql", scratch.next_version() - 1);
    let added: Vec<String> = scratch.migrations().into_iter().filter(|m| !migrations.contains(m)).collect();
    assert_eq!(added, [expected.as_str()], "{lines:#?}");
    assert!(lines.contains(&format!("wrote migrations/{expected} (checkpointer v9)")), "{lines:#?}");
    let set = scratch.set();
    assert!(set.lock.as_ref().is_some_and(|lock| lock.mismatches(&set.files).is_empty()), "the lock records it");
    let new = scratch.read(&format!("migrations/{expected}"));
    assert!(new.lines().any(|l| l == "-- squash: keep"), "{new}");
    assert!(new.contains(
        "\n-- v9\nALTER TABLE checkpoint_writes ADD COLUMN IF NOT EXISTS task_path TEXT NOT NULL DEFAULT '';\n"
    ));
    assert!(new.contains("generate_series(9, 9)"), "{new}");
    assert_eq!(scratch.read(&path).matches("task_path").count(), 0, "the applied migration is left as it was");

    let lines = check(&python, tree).unwrap();
    assert!(lines
        .iter()
        .any(|l| l.contains("checkpointer: the library has steps v0..v9; our migrations record v0..v9")));
    let db = test_server().test_database(Some(&scratch.set())).unwrap();
    assert_eq!(recorded_steps(&db), ((0..=9).collect(), (0..=3).collect()));
    assert!(has_column(&db, "checkpoint_writes", "task_path"));
}

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn a_recorded_step_whose_index_is_missing_is_refused_and_nothing_is_written() {
    let (scratch, python, path) = tree_on_3_2_0("unequal");
    let index = "CREATE INDEX IF NOT EXISTS checkpoint_writes_thread_id_idx ON checkpoint_writes (thread_id);\n";
    let sql = scratch.read(&path);
    assert!(sql.contains(index), "{path} builds the index of step 8");
    scratch.write(&path, &sql.replace(index, ""));
    let tree = &scratch.tree;
    let before = scratch.migrations();

    let err = check(&python, tree).unwrap_err();
    assert!(
        err.starts_with(
            "the LangGraph tables our migrations create differ from what langgraph-checkpoint-postgres 3.2.0 \
             creates, although they record every step"
        ),
        "{err}"
    );
    assert!(err.contains("\n-CREATE INDEX checkpoint_writes_thread_id_idx ON public.checkpoint_writes"), "{err}");
    let mut lines = Vec::new();
    let err = crate::langgraph::update(&python, test_server(), tree, &mut lines).unwrap_err();
    let err = format!("{err:#}");
    assert!(err.starts_with("the migrations do not give the library's tables; nothing was written: "), "{err}");
    assert_eq!(scratch.migrations(), before);
}
