//! A `-- no-transaction` file that stopped at a failing statement resumes there when it is
//! unchanged, and what a failed `CREATE INDEX CONCURRENTLY` left behind is named: against a real
//! Postgres, with chains the tests write.

use std::cell::RefCell;
use std::rc::Rc;

use crate::support::{history, table_exists, TempDir};
use devdb::empty_database;
use migrator::migrate::{migrate, run_with, RunOptions};
use migrator::Error;

fn count(client: &mut postgres::Client, table: &str) -> i64 {
    client.query_one(&format!("SELECT count(*) FROM {table}"), &[]).unwrap().get(0)
}

#[test]
fn a_half_done_no_transaction_file_resumes_at_its_failing_statement() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE TABLE runs (n int)").unwrap();
    let dir = TempDir::new();
    dir.write(
        "V1__backfill.sql",
        "-- no-transaction\nINSERT INTO runs VALUES (1);\nINSERT INTO needed VALUES (2);\nINSERT INTO runs VALUES (3);\n",
    );
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::StatementFailed { statement: 2, message, .. } = &error else { panic!("{error}") };
    eprintln!("{error}");
    assert!(message.contains("migrating again resumes at statement 2 while"), "{message}");
    assert!(table_exists(&mut client, "public.sdm_no_transaction_progress"), "progress is kept while half-done");

    // The cause is fixed outside the file; the file is unchanged: statement 1 does not run again.
    client.batch_execute("CREATE TABLE needed (n int)").unwrap();
    let told = Rc::new(RefCell::new(Vec::new()));
    let notes = told.clone();
    let options =
        RunOptions { report: Box::new(move |note| notes.borrow_mut().push(note.to_string())), ..RunOptions::default() };
    run_with(&mut client, &dir.set(), options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        told.borrow().as_slice(),
        ["V1__backfill resumes at statement 2 of 3 (line 3): statements 1 to 1 ran in an earlier run that stopped there, \
          and the file is unchanged since"]
    );
    assert_eq!(count(&mut client, "runs"), 2, "1 once, then 3");
    assert_eq!(count(&mut client, "needed"), 1);
    assert_eq!(history(&mut client), vec![(1, "backfill".to_string())]);
    assert!(!table_exists(&mut client, "public.sdm_no_transaction_progress"), "nothing is left once it is done");
}

#[test]
fn a_changed_no_transaction_file_runs_from_its_first_statement() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE TABLE runs (n int)").unwrap();
    let dir = TempDir::new();
    dir.write("V1__backfill.sql", "-- no-transaction\nINSERT INTO runs VALUES (1);\nINSERT INTO needed VALUES (2);\n");
    migrate(&mut client, &dir.set()).unwrap_err();
    dir.write("V1__backfill.sql", "-- no-transaction\nINSERT INTO runs VALUES (1);\nCREATE TABLE needed (n int);\n");
    migrate(&mut client, &dir.set()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(&mut client, "runs"), 2, "the changed file ran from the start");
    assert!(!table_exists(&mut client, "public.sdm_no_transaction_progress"));
}

#[test]
fn a_failed_concurrent_index_names_the_invalid_index_it_left() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE TABLE emails (address text); INSERT INTO emails VALUES ('a'), ('a')").unwrap();
    let dir = TempDir::new();
    dir.write(
        "V1__unique.sql",
        "-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY emails_address ON emails (address);\n",
    );
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    eprintln!("{error}");
    let shown = error.to_string();
    assert!(
        shown.contains(
            "(it left the invalid index public.emails_address behind, which IF NOT EXISTS would take as built: drop it \
             with `DROP INDEX CONCURRENTLY IF EXISTS public.emails_address;` before running the file again)"
        ),
        "{shown}"
    );
}
