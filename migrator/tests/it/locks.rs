//! The runner never blocks production: a migration waits at most its lock timeout for a lock,
//! is tried again with backoff, names the session it waited behind when it gives up, and keeps
//! the migration lock out of a migration's reach; against a real Postgres, with a real second
//! session holding the lock.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::support::{history, table_exists, TempDir};
use devdb::{empty_database, TestDatabase};
use migrator::migrate::{run_with, LockPolicy, RunOptions};
use migrator::Error;

/// Returns options with `timeout` and `retries`, a lock connection to `db`, and the waits told.
fn run_options(db: &TestDatabase<'_>, timeout_ms: u64, retries: u32) -> (RunOptions, Rc<RefCell<Vec<String>>>) {
    let waits = Rc::new(RefCell::new(Vec::new()));
    let told = waits.clone();
    let options = RunOptions {
        locks: LockPolicy { lock_timeout: Duration::from_millis(timeout_ms), retries },
        lock_connection: Some(db.connect()),
        report: Box::new(move |wait| told.borrow_mut().push(wait.to_string())),
    };
    (options, waits)
}

/// Opens a session that holds `busy` in ACCESS SHARE mode (as a long read does) in an open
/// transaction; returns it and its pid.
fn hold_busy(db: &TestDatabase<'_>) -> (postgres::Client, i32) {
    let mut holder = db.connect();
    let pid = holder.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    holder.batch_execute("SET application_name = 'report_job'; BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE;").unwrap();
    (holder, pid)
}

/// Lets `holder` commit, from another thread, `millis` after a session began to wait for `busy`
/// (the test's migration), or at once with `millis` 0.
fn release_after(db: &TestDatabase<'_>, mut holder: postgres::Client, millis: u64) -> std::thread::JoinHandle<()> {
    let mut watcher = db.connect();
    std::thread::spawn(move || {
        let waiting = "SELECT count(*) > 0 FROM pg_locks WHERE NOT granted AND relation = 'busy'::regclass";
        while millis > 0 && !watcher.query_one(waiting, &[]).unwrap().get::<_, bool>(0) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(millis));
        holder.batch_execute("COMMIT").unwrap();
    })
}

fn columns(client: &mut postgres::Client, table: &str) -> Vec<String> {
    let sql =
        "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::text::regclass AND attnum > 0 ORDER BY attnum";
    client.query(sql, &[&table]).unwrap().iter().map(|r| r.get(0)).collect()
}

#[test]
fn a_migration_that_cannot_get_its_lock_gives_up_naming_the_session_it_waited_behind() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE TABLE busy (id int)").unwrap();
    let dir = TempDir::new();
    dir.write("V1__flag_busy.sql", "ALTER TABLE busy ADD COLUMN flag int;\n");
    let (holder, pid) = hold_busy(&db);
    // Waits long enough that the watcher is seen to run on a machine busy with other tests.
    let (options, waits) = run_options(&db, 300, 2);

    let error = run_with(&mut client, &dir.set(), options).unwrap_err();
    let Error::LockTimeout { name, message, .. } = &error else { panic!("{error}") };
    eprintln!("{error}");
    assert_eq!(name, "V1__flag_busy");
    for needle in [
        "within its lock_timeout of 300 ms in 3 tries",
        "so it was rolled back and nothing of it is applied",
        &format!("it waited behind pid {pid} (application_name 'report_job'"),
        "idle in transaction",
        "running `SET application_name = 'report_job'; BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE;`",
        &format!("end it: `SELECT pg_terminate_backend({pid});`"),
        "`-- lock-timeout: 5s`",
    ] {
        assert!(message.contains(needle), "{needle:?} in: {message}");
    }
    let waits = waits.borrow();
    assert_eq!(waits.len(), 2, "{waits:?}");
    for (n, wait) in waits.iter().enumerate() {
        eprintln!("{wait}");
        assert!(
            wait.starts_with(&format!(
                "V1__flag_busy waited 300 ms for a lock and was rolled back (try {} of 3)",
                n + 1
            )),
            "{wait}"
        );
        assert!(wait.contains(&format!("pid {pid}")) && wait.contains("trying again in"), "{wait}");
    }
    assert_eq!(columns(&mut client, "busy"), vec!["id"], "nothing of it is applied");
    assert_eq!(history(&mut client), vec![]);

    // Once the session lets go, the same migration applies.
    release_after(&db, holder, 0).join().unwrap();
    let (options, _) = run_options(&db, 100, 2);
    assert_eq!(run_with(&mut client, &dir.set(), options).unwrap().applied.len(), 1);
    assert_eq!(columns(&mut client, "busy"), vec!["id", "flag"]);
}

#[test]
fn a_lock_let_go_between_tries_lets_the_migration_through() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE TABLE busy (id int)").unwrap();
    let dir = TempDir::new();
    dir.write("V1__flag_busy.sql", "ALTER TABLE busy ADD COLUMN flag int;\n");
    let (holder, _) = hold_busy(&db);
    let released = release_after(&db, holder, 300);
    let (options, waits) = run_options(&db, 100, 8);
    let run = run_with(&mut client, &dir.set(), options).unwrap_or_else(|e| panic!("{e}"));
    released.join().unwrap();
    assert_eq!(run.applied.len(), 1);
    assert!(!waits.borrow().is_empty(), "it waited at least once");
    assert_eq!(history(&mut client), vec![(1, "flag_busy".to_string())]);
}

#[test]
fn a_file_may_wait_longer_than_the_run() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE TABLE busy (id int)").unwrap();
    let dir = TempDir::new();
    dir.write("V1__flag_busy.sql", "-- lock-timeout: 5s\nALTER TABLE busy ADD COLUMN flag int;\n");
    let (holder, _) = hold_busy(&db);
    let released = release_after(&db, holder, 300);
    // The run alone would give up after one 50 ms wait; the session lets go 300 ms into the wait.
    let (options, waits) = run_options(&db, 50, 0);
    run_with(&mut client, &dir.set(), options).unwrap_or_else(|e| panic!("{e}"));
    released.join().unwrap();
    assert!(waits.borrow().is_empty(), "the file's own timeout covered the wait: {:?}", waits.borrow());
    assert_eq!(columns(&mut client, "busy"), vec!["id", "flag"]);
}

#[test]
fn a_no_transaction_file_tries_again_only_the_statement_that_waited() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE TABLE busy (id int); CREATE TABLE runs (n int)").unwrap();
    let dir = TempDir::new();
    dir.write(
        "V1__flag_busy.sql",
        "-- no-transaction\nINSERT INTO runs VALUES (1);\nALTER TABLE busy ADD COLUMN flag int;\n",
    );
    let (holder, pid) = hold_busy(&db);
    let released = release_after(&db, holder, 700);
    let (options, waits) = run_options(&db, 250, 8);
    run_with(&mut client, &dir.set(), options).unwrap_or_else(|e| panic!("{e}"));
    released.join().unwrap();
    let waits = waits.borrow();
    assert!(!waits.is_empty());
    assert!(waits[0].starts_with("V1__flag_busy statement 2 of 2 (line 3) waited 250 ms"), "{}", waits[0]);
    assert!(waits[0].contains(&format!("pid {pid}")), "{}", waits[0]);
    let runs: i64 = client.query_one("SELECT count(*) FROM runs", &[]).unwrap().get(0);
    assert_eq!(runs, 1, "the statement before it ran once");
    assert_eq!(columns(&mut client, "busy"), vec!["id", "flag"]);
}

#[test]
fn no_statement_of_a_migration_can_release_the_migration_lock() {
    let db = empty_database();
    let dir = TempDir::new();
    // The migration checks, after releasing what it can, that another session still holds the lock.
    let still_held = "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted \
                      AND pid <> pg_backend_pid()) THEN RAISE EXCEPTION 'the migration lock was released'; END IF; END $$;";
    dir.write(
        "V1__discard.sql",
        &format!("-- no-transaction\nDISCARD ALL;\nSELECT pg_advisory_unlock_all();\n{still_held}\n"),
    )
    .write(
        "V2__unlock.sql",
        &format!("SELECT pg_advisory_unlock_all();\n{still_held}\nCREATE TABLE after_unlock (id int);\n"),
    );
    // The lock is held on a connection of its own, which no migration reaches.
    let options = RunOptions { lock_connection: Some(db.connect()), ..RunOptions::default() };
    let mut client = db.connect();
    let run = run_with(&mut client, &dir.set(), options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.applied.len(), 2);

    // Without a connection of its own, a migration that releases the lock stops the run.
    let db = empty_database();
    let dir = TempDir::new();
    dir.write("V1__discard.sql", "-- no-transaction\nDISCARD ALL;\n")
        .write("V2__after.sql", "CREATE TABLE after_unlock (id int);\n");
    let error = migrator::migrate::migrate(&mut db.connect(), &dir.set()).unwrap_err();
    let Error::LockLost { when, why } = &error else { panic!("{error}") };
    assert_eq!(when, "while V1__discard ran");
    assert!(why.contains("DISCARD ALL, pg_advisory_unlock_all()"), "{why}");
    eprintln!("{error}");
    assert!(!table_exists(&mut db.connect(), "after_unlock"), "the run stopped before V2");
}
