//! A tree whose checkpointer migration stops at step 8: `--check` names step 9, the command adds
//! one migration for it, and then `--check` passes and a fresh database has `task_path`.

use devdb::test_server;

use super::{check, has_column, pin, recorded_steps, shell, update, ScratchTree, PINS_3_2_0};

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn a_checkpointer_stopping_at_v8_gets_one_migration_for_step_9() {
    // The workspace's set-up migration (steps v0..v9), without later upgrades, on 3.2.0 (v0..v9).
    let scratch = ScratchTree::copy("behind", |path| path.contains("__upgrade_langgraph_"));
    let (sh, server) = (shell(), test_server());
    let python = pin(&sh, &scratch, PINS_3_2_0, "langgraph-checkpoint-postgres-3.2.0");
    let library = python.describe(&sh, server).unwrap_or_else(|e| panic!("{e:#}"));
    scratch.write("xtask/test_data/langgraph-schema.sql", &library.reference);
    let migrations = scratch.migrations();
    let setup =
        migrations.iter().find(|m| m.ends_with("__setup_langgraph_checkpointer.sql")).expect("set-up migration");
    let path = format!("migrations/{setup}");
    let v9 = "-- v9\nALTER TABLE checkpoint_writes ADD COLUMN IF NOT EXISTS task_path TEXT NOT NULL DEFAULT '';\n\n";
    let sql = scratch.read(&path);
    assert!(sql.contains(v9) && sql.contains("generate_series(0, 9)"), "{setup} has step 9 to take out");
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
    let db = server.test_database(Some(&scratch.set())).unwrap();
    assert_eq!(recorded_steps(&db), ((0..=9).collect(), (0..=3).collect()));
    assert!(has_column(&db, "checkpoint_writes", "task_path"));
}
