//! A squash changes the folder only when it is safe: a failing migration, a kill or a failure at
//! any step, uncommitted changes and a proof that finds a difference all leave the old set or the new.

use std::path::PathBuf;
use std::process::Command;

use super::{server, small_chain, small_chain_before_and_after, Tree};
use crate::{pg, prove, squash_dir, swap, Options, Outcome, Step};
use devdb::{Privileges, Schema};

#[test]
fn a_failing_migration_is_named_and_nothing_changes() {
    let tree = Tree::new(&[
        ("users/V1__users_accounts.sql", "CREATE TABLE users_account (id integer PRIMARY KEY);\n"),
        (
            "users/V2__users_broken.sql",
            "ALTER TABLE users_account ADD COLUMN email text;\n\nALTER TABLE users_acount ADD COLUMN name text;\n",
        ),
    ]);
    let before = tree.snapshot();
    let error = tree.squash_err();
    assert!(error.contains("V2__users_broken"), "{error}");
    assert!(error.contains("V2__users_broken.sql:3"), "{error}");
    assert!(error.contains("users_acount"), "{error}");
    assert_eq!(tree.snapshot(), before);
    assert!(!swap::sibling(&tree.dir(), swap::NEW_SUFFIX).exists());
}

#[test]
fn the_proof_shows_what_differs() {
    let build = |sql: &str| {
        let db = server().scratch_database("proof").unwrap();
        db.connect().batch_execute(sql).unwrap();
        db
    };
    let old = build("CREATE TABLE account (id integer PRIMARY KEY, email text); INSERT INTO account VALUES (1, 'a');");
    let old_schema = Schema::dump(server(), old.name(), &[]).unwrap();
    let other_schema =
        build("CREATE TABLE account (id bigint PRIMARY KEY, email text); INSERT INTO account VALUES (1, 'a');");
    let error = format!("{:#}", prove::prove(server(), &old_schema, &old, &other_schema).unwrap_err());
    assert!(
        error.contains("schema differs from the old chain's in 1 object:\n  TABLE public.account: the new set builds it differently\n")
            && error.contains("-    id integer NOT NULL,")
            && error.contains("+    id bigint NOT NULL,"),
        "{error}"
    );
    let other_rows =
        build("CREATE TABLE account (id integer PRIMARY KEY, email text); INSERT INTO account VALUES (1, 'b');");
    let error = format!("{:#}", prove::prove(server(), &old_schema, &old, &other_rows).unwrap_err());
    assert!(error.contains("public.account: rows differ"), "{error}");
}

#[test]
fn the_proof_names_an_object_whose_dump_does_not_rebuild_it() {
    // Built from pg_dump's text, the index's condition is another expression (Postgres 15 and
    // later): the proof names it and says that a plain restore builds it the same way. The
    // table, which the new set changed on its own, is named without that reason.
    let chain = "CREATE TABLE account (id integer PRIMARY KEY, kind varchar(9));
                 CREATE INDEX account_kind ON account (id) WHERE kind IN ('a', 'b');";
    let old = server().scratch_database("proof").unwrap();
    old.connect().batch_execute(chain).unwrap();
    let old_schema = Schema::dump_with(server(), old.name(), &[], Privileges::Included).unwrap();
    let archive = tempfile::NamedTempFile::new().unwrap();
    let sh = xshell::Shell::new().unwrap();
    pg::dump_custom(&sh, server(), &old, archive.path()).unwrap();
    let new = server().scratch_database("proof").unwrap();
    pg::restore_into(&sh, server(), archive.path(), &new).unwrap();
    new.connect().batch_execute("ALTER TABLE account ADD COLUMN extra integer").unwrap();
    let new_schema = prove::schema_of(server(), &new).unwrap();
    let restored = || {
        let db = server().scratch_database("proof").unwrap();
        pg::restore_into(&sh, server(), archive.path(), &db)?;
        Ok(Some(prove::schema_of(server(), &db)?))
    };
    let rows = (Default::default(), Vec::new());
    let error = format!("{:#}", prove::compare(&old_schema, &new_schema, &rows, &rows, restored).unwrap_err());
    let table = "  TABLE public.account: the new set builds it differently\n";
    if server().major().unwrap() >= 15 {
        assert!(error.contains("in 2 objects:\n  INDEX public.account_kind: the new set builds it differently, as a plain pg_dump and pg_restore of the chain's database does: pg_dump prints it as text that Postgres reads back as another definition"), "{error}");
        assert!(error.contains(table), "{error}");
    } else {
        assert!(error.contains(&format!("in 1 object:\n{table}")), "{error}");
    }
}

/// Aborts the process (no destructors, like a kill) at the step named by `SQUASH_KILL_AT`.
fn abort_at_env_step(step: Step) -> anyhow::Result<()> {
    if std::env::var("SQUASH_KILL_AT").as_deref() == Ok(format!("{step:?}").as_str()) {
        std::process::abort();
    }
    Ok(())
}

/// The process `killed_in_any_state_leaves_the_old_or_the_new_set` starts and kills; run alone
/// (`--ignored`, without its variables) it fails.
#[test]
#[ignore = "not a test of its own: the child process that killed_in_any_state_leaves_the_old_or_the_new_set kills"]
fn kill_child() {
    let dir = std::env::var_os("SQUASH_KILL_DIR")
        .expect("SQUASH_KILL_DIR names the folder to squash: this is the kill test's child process");
    let dir = PathBuf::from(dir);
    let opts = Options {
        dry_run: false,
        check: false,
        allow_dirty: true,
        target_dir: dir.parent().unwrap().join("target"),
        after_step: Some(abort_at_env_step),
        quiet: false,
    };
    let result = squash_dir(server(), &dir, &opts);
    panic!("the squash should have been killed, but ended with {:?}", result.map(|r| r.outcome));
}

/// The steps after which a kill leaves each state a run passes through beside the folder: an
/// unfinished new set (after Data; Prove writes nothing), and the folders swapped with the old
/// set beside the new one (after Swap). Before Data nothing beside the folder exists (scratch
/// databases of killed runs are devdb's to drop); after Backup the run is complete.
const KILL_AT: [Step; 2] = [Step::Data, Step::Swap];

#[test]
fn killed_in_any_state_leaves_the_old_or_the_new_set() {
    let (old, new) = small_chain_before_and_after();

    for step in KILL_AT {
        let tree = Tree::new(&[]);
        small_chain(&tree);
        // `/proc/self/exe` still runs this binary if a rebuild replaced the file meanwhile.
        let status = Command::new("/proc/self/exe")
            .args(["tests::safety::kill_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env("SQUASH_KILL_DIR", tree.dir())
            .env("SQUASH_KILL_AT", format!("{step:?}"))
            .output()
            .unwrap();
        assert!(
            status.status.code().is_none(),
            "the child should die by a signal at {step:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let after_kill = tree.snapshot();
        assert!(
            after_kill == old || after_kill == new,
            "killed at {step:?}: the folder is neither the old nor the new set"
        );
        // The next run cleans up whatever the killed one left and ends with the new set.
        let report = tree.squash();
        assert_eq!(tree.snapshot(), new, "after a kill at {step:?} and a rerun ({:?})", report.outcome);
        assert!(!swap::sibling(&tree.dir(), swap::NEW_SUFFIX).exists());
        assert!(!swap::sibling(&tree.dir(), swap::OLD_SUFFIX).exists());
    }
}

fn fail_at_every_step(step: Step) -> anyhow::Result<()> {
    let at = FAIL_AT.with(|f| f.get());
    if Some(step) == at {
        anyhow::bail!("injected failure after {step:?}");
    }
    Ok(())
}

thread_local! {
    static FAIL_AT: std::cell::Cell<Option<Step>> = const { std::cell::Cell::new(None) };
}

#[test]
fn a_failed_run_leaves_the_old_or_the_new_set() {
    let (old, new) = small_chain_before_and_after();
    // The kill test covers each state on disk; here, the steps after which this process cleans up itself:
    // after Data a staging folder exists, after Swap it holds the old set.
    for step in [Step::Data, Step::Swap] {
        let tree = Tree::new(&[]);
        small_chain(&tree);
        FAIL_AT.with(|f| f.set(Some(step)));
        let opts = Options { after_step: Some(fail_at_every_step), ..tree.options() };
        let result = squash_dir(server(), &tree.dir(), &opts);
        FAIL_AT.with(|f| f.set(None));
        let error = format!("{:#}", result.err().unwrap_or_else(|| panic!("the failure at {step:?} was not reported")));
        assert!(error.contains("injected failure"), "{error}");
        let now = tree.snapshot();
        let expected = if matches!(step, Step::Swap | Step::Backup) { &new } else { &old };
        assert!(
            now == *expected,
            "failed at {step:?}: the folder is not the {} set",
            if expected == &new { "new" } else { "old" }
        );
        // The next run picks up whatever the failed one left and ends with the new set.
        tree.squash();
        assert_eq!(tree.snapshot(), new, "after a failure at {step:?} and a rerun");
        assert!(!swap::sibling(&tree.dir(), swap::NEW_SUFFIX).exists(), "staging left after a failure at {step:?}");
    }
}

#[test]
fn uncommitted_changes_stop_the_squash_unless_allowed() {
    let tree = Tree::new(&[]);
    small_chain(&tree);
    let git = |args: &[&str]| Command::new("git").args(args).current_dir(&tree.root).output().unwrap();
    assert!(git(&["init", "-q"]).status.success());
    let before = tree.snapshot();
    let error = tree.squash_err();
    assert!(error.contains("uncommitted changes") && error.contains("--allow-dirty"), "{error}");
    assert_eq!(tree.snapshot(), before);
    let report = squash_dir(server(), &tree.dir(), &Options { allow_dirty: true, ..tree.options() }).unwrap();
    assert_eq!(report.outcome, Outcome::Written);
}
