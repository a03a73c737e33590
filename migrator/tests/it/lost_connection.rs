//! A connection lost under a migration (the server ended the session, as it does when it shuts
//! down) is reported as such, against a real Postgres: it never blames the migration's SQL and
//! never claims a rollback it cannot know of.

use std::time::{Duration, Instant};

use crate::support::{history, table_exists, TempDir};
use devdb::{empty_database, TestDatabase};
use migrator::migrate::migrate;
use migrator::Error;

/// Migrates `dir` on a connection that another session terminates once it runs `pg_sleep`.
fn migrate_until_terminated(db: &TestDatabase<'_>, dir: &TempDir) -> Error {
    let mut client = db.connect();
    let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let url = db.url().to_string();
    let killer = std::thread::spawn(move || {
        let mut admin = migrator::db::connect(&url).unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let sleeping: bool = admin
                .query_one(
                    // Sleeping, not being parsed (a no-transaction file's statements are parsed first).
                    "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'",
                    &[&pid],
                )
                .unwrap()
                .get(0);
            if sleeping {
                return admin.query_one("SELECT pg_terminate_backend($1)", &[&pid]).unwrap().get::<_, bool>(0);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    });
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(killer.join().unwrap(), "the migration's session was found and terminated");
    error
}

#[test]
fn a_terminated_session_under_a_migration_is_not_blamed_on_its_sql() {
    let dir = TempDir::new();
    dir.write("V1__first.sql", "CREATE TABLE lost_first (id int);\n")
        .write("V2__slow.sql", "CREATE TABLE lost_slow (id int);\nSELECT pg_sleep(30);\n");
    let db = empty_database();
    let error = migrate_until_terminated(&db, &dir);
    let Error::ConnectionLost { name, .. } = &error else { panic!("{error}") };
    assert_eq!(name, "V2__slow");
    let shown = error.to_string();
    eprintln!("{shown}");
    assert!(shown.starts_with("lost the connection to the server while migration V2__slow"), "{shown}");
    // The server's reason (57P01) comes with the end of the connection; when both are read in
    // one go, the synchronous driver returns the end ("connection closed") before the reason.
    let cause = shown.contains("57P01") || shown.contains("ran: connection closed; ");
    assert!(cause && shown.contains("no fault of its SQL"), "{shown}");
    assert!(shown.contains("all of it or none of it"), "{shown}");
    assert!(!shown.contains("rolled back") && !shown.contains("fix "), "{shown}");
    let mut client = db.connect();
    assert_eq!(history(&mut client), vec![(1, "first".to_string())]);
    assert!(!table_exists(&mut client, "lost_slow"));
}

#[test]
fn a_terminated_session_under_a_no_transaction_file_says_what_stays_applied() {
    let dir = TempDir::new();
    dir.write("V1__nt_slow.sql", "-- no-transaction\nCREATE TABLE lost_nt (id int);\nSELECT pg_sleep(30);\nCREATE TABLE lost_nt_after (id int);\n");
    let db = empty_database();
    let error = migrate_until_terminated(&db, &dir);
    assert!(matches!(&error, Error::ConnectionLost { .. }), "{error}");
    let shown = error.to_string();
    eprintln!("{shown}");
    assert!(shown.contains("statement 1 (line 2) ran and stays applied"), "{shown}");
    assert!(shown.contains("statement 2 (line 3) was running and may or may not have completed"), "{shown}");
    let mut client = db.connect();
    assert!(table_exists(&mut client, "lost_nt") && !table_exists(&mut client, "lost_nt_after"));
    assert_eq!(history(&mut client), vec![]);
}
