//! The upgrade path: the set-up migrations are built on an older library release (2.0.11, before
//! the checkpointer's `task_path` step and the store's TTL steps), then the pin moves to the
//! current release and `cargo xtask langgraph` writes what is missing; Python's `setup()` then
//! finds nothing to do on an existing database, which a fresh one matches.

use devdb::{test_server, Schema, TestDatabase};

use super::{check, has_column, pin, recorded_steps, shell, update, ScratchTree, PINS_3_2_0};
use crate::langgraph::Python;

/// The older release: checkpointer steps v0..v7, store steps v0..v1.
const OLDER_PINS: &str = "# langgraph-checkpoint-postgres 2.0.11: before task_path (checkpointer) and TTL (store).\n\
                          langgraph==0.2.62\nlanggraph-checkpoint==2.0.10\nlanggraph-checkpoint-postgres==2.0.11\n\
                          psycopg[binary]==3.3.9\n";

#[test]
#[cfg_attr(sdm_skip_python, ignore = "SDM_SKIP_PYTHON=1; to run: python3 python/setup-venv.py, then unset it")]
fn moving_the_pin_to_the_current_release_leaves_setup_nothing_to_do() {
    // The workspace without its LangGraph set-up migrations, pinned to the older release.
    let scratch = ScratchTree::copy("older", |path| {
        path.contains("_langgraph_checkpointer") || path.contains("_langgraph_store")
    });
    let tree = &scratch.tree;
    let (sh, server) = (shell(), test_server());
    let older = pin(&sh, &scratch, OLDER_PINS, "langgraph-checkpoint-postgres-2.0.11");
    let n = scratch.next_version();

    let lines = update(&older, tree);
    assert!(lines
        .contains(&"  checkpointer: the library has steps v0..v7; our migrations record none; missing v0..v7".into()));
    assert!(lines.contains(&"  store: the library has steps v0..v1; our migrations record none; missing v0..v1".into()));
    assert!(lines.iter().any(|l| l.starts_with("  store vector steps v0..v2 skipped: ")), "{lines:#?}");
    let first = scratch.migrations();
    let setup_files = [
        format!("llmchat/V{n}__setup_langgraph_checkpointer.sql"),
        format!("memory/V{}__setup_langgraph_store.sql", n + 1),
    ];
    assert_eq!(first[first.len() - 2..], setup_files);
    let setup = scratch.read(&format!("migrations/{}", setup_files[0]));
    assert!(!setup.contains("INDEX CONCURRENTLY"), "{setup}");
    check(&older, tree).unwrap();
    let older_set = scratch.set();
    // A database deployed before the upgrade, which the older Python library sets up nothing on
    // (the command ran its setup() on such a database before it wrote the files).
    assert!(
        lines.iter().any(|l| l
            .starts_with("proved on a scratch database: the migrations record checkpointer v0..v7 and store v0..v1")
            && l.ends_with("Python's setup() changes nothing")),
        "{lines:#?}"
    );
    let existing = server.test_database(Some(&older_set)).unwrap();
    assert_eq!(recorded_steps(&existing), ((0..=7).collect(), (0..=1).collect()));

    // The pin moves; the venv that still has the older release is refused.
    let current = pin(&sh, &scratch, PINS_3_2_0, "langgraph-checkpoint-postgres-3.2.0");
    let err = check(&Python { requirements: tree.requirements(), ..older }, tree).unwrap_err();
    assert!(err.contains("langgraph-checkpoint-postgres 2.0.11 (pinned 3.2.0)"), "{err}");
    let err = check(&current, tree).unwrap_err();
    assert!(
        err.starts_with(
            "the migrations are behind langgraph-checkpoint-postgres 3.2.0: checkpointer steps 8, 9 are missing (they \
             record v0..v7, the library has v0..v9)\nthe migrations are behind langgraph-checkpoint-postgres 3.2.0: \
             store steps 2, 3 are missing (they record v0..v1, the library has v0..v3)\n\
             xtask/test_data/langgraph-schema.sql is stale: it is not what langgraph-checkpoint-postgres 3.2.0 creates"
        ),
        "{err}"
    );
    assert!(
        err.contains("+    task_path text DEFAULT ''::text NOT NULL")
            && err.ends_with("Run `cargo xtask langgraph` and commit the result."),
        "{err}"
    );

    update(&current, tree);
    let added: Vec<String> = scratch.migrations().into_iter().filter(|m| !first.contains(m)).collect();
    assert_eq!(
        added,
        [
            format!("llmchat/V{}__upgrade_langgraph_checkpointer_to_v9.sql", n + 2),
            format!("memory/V{}__upgrade_langgraph_store_to_v3.sql", n + 3)
        ]
    );
    check(&current, tree).unwrap();

    // The existing database takes the two new migrations; a fresh one gets all four.
    let applied = migrator::migrate::migrate(&mut existing.connect(), &scratch.set()).unwrap();
    assert_eq!(applied.iter().map(|m| m.version).collect::<Vec<_>>(), [n + 2, n + 3]);
    let fresh = server.test_database(Some(&scratch.set())).unwrap();
    for db in [&existing, &fresh] {
        assert_eq!(recorded_steps(db), ((0..=9).collect(), (0..=3).collect()));
        assert!(has_column(db, "checkpoint_writes", "task_path"));
        assert!(has_column(db, "store", "ttl_minutes"));
    }
    // Alike in schema and in recorded steps, all that setup() reads: what it does on the upgraded
    // database it does on the fresh one.
    assert_eq!(Schema::dump(server, existing.name(), &[]).unwrap(), Schema::dump(server, fresh.name(), &[]).unwrap());
    setup_changes_nothing(&current, &existing);
}

/// Runs Python's `setup()`s on `db` and asserts they changed nothing: the full schema and the
/// recorded steps are the same before and after.
fn setup_changes_nothing(python: &Python, db: &TestDatabase<'_>) {
    let server = test_server();
    let before = Schema::dump(server, db.name(), &[]).unwrap();
    let steps = recorded_steps(db);
    let reported = python.setup(server, db.url()).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!((reported.checkpoint_migrations, reported.store_migrations), steps, "setup() recorded steps");
    assert_eq!(recorded_steps(db), steps);
    if let Some(diff) = before.diff(&Schema::dump(server, db.name(), &[]).unwrap()) {
        panic!("setup() changed the schema (- before, + after):\n{diff}");
    }
}
