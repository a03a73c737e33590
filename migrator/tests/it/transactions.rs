//! A migration is all or nothing: transaction control in a file is refused before anything runs
//! (an outer BEGIN ... COMMIT is accepted), and a `-- no-transaction` file runs statement by
//! statement, against a real Postgres.

use crate::support::{history, table_exists, TempDir};
use devdb::empty_database;
use migrator::migrate::migrate;
use migrator::Error;

#[test]
fn a_commit_part_way_through_a_file_is_refused_before_anything_runs() {
    let dir = TempDir::new();
    dir.write("users/V1__users_first.sql", "CREATE TABLE users_first (id int);\n").write(
        "users/V2__users_half.sql",
        "BEGIN;\nCREATE TABLE users_half (id int);\nCOMMIT;\nBEGIN;\nINSERT INTO users_half (nope) VALUES (1);\nCOMMIT;\n",
    );
    let db = empty_database();
    let mut client = db.connect();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationRefused { name, line, column, .. } = &error else { panic!("{error}") };
    assert_eq!((name.as_str(), *line, *column), ("V2__users_half", 3, 1), "{error}");
    let shown = error.to_string();
    let path = dir.path().join("users/V2__users_half.sql");
    assert!(shown.starts_with(&format!("migration V2__users_half cannot run: {}:3:1: `COMMIT`", path.display())));
    assert!(shown.contains("-- no-transaction") && shown.ends_with("Nothing was applied."), "{shown}");
    assert!(!shown.contains("rolled back"), "nothing ran, so nothing was rolled back: {shown}");
    eprintln!("{shown}");
    // Not even the migration before it ran: the whole run was judged first.
    assert!(!table_exists(&mut client, "users_first") && !table_exists(&mut client, "users_half"));
    assert!(!table_exists(&mut client, migrator::migrate::HISTORY_TABLE));
}

#[test]
fn an_outer_begin_commit_is_accepted_and_errors_keep_their_line() {
    let dir = TempDir::new();
    dir.write("V1__wrapped.sql", "-- a habit\nBEGIN;\nCREATE TABLE wrapped (id int);\nCOMMIT;\n");
    let db = empty_database();
    let mut client = db.connect();
    assert_eq!(migrate(&mut client, &dir.set()).unwrap().len(), 1);
    assert_eq!(history(&mut client), vec![(1, "wrapped".to_string())]);

    dir.write(
        "V2__wrapped_fails.sql",
        "BEGIN;\nCREATE TABLE wrapped_two (id int);\nINSERT INTO wrapped (nope)\n  VALUES (1);\nCOMMIT;\n",
    );
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { line, column, message, .. } = &error else { panic!("{error}") };
    assert_eq!((*line, *column), (3, 22), "{message}");
    assert!(message.contains("rolled back"), "{message}");
    assert!(!table_exists(&mut client, "wrapped_two"), "the wrapped migration was rolled back");
    assert_eq!(history(&mut client).len(), 1);
}

#[test]
fn function_bodies_and_quotes_hide_what_looks_like_transaction_control() {
    let dir = TempDir::new();
    dir.write(
        "V1__bodies.sql",
        "CREATE TABLE notes (body text DEFAULT 'COMMIT;');\n\
         CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql\n\
         BEGIN ATOMIC\n  SELECT CASE WHEN true THEN count(*) END FROM notes;\nEND;\n\
         CREATE FUNCTION touch() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM 1; END $$;\n\
         /* ROLLBACK; */ SAVEPOINT before_insert;\nINSERT INTO notes DEFAULT VALUES;\nRELEASE before_insert;\n",
    );
    let db = empty_database();
    let mut client = db.connect();
    migrate(&mut client, &dir.set()).unwrap_or_else(|e| panic!("{e}"));
    let count: i64 = client.query_one("SELECT note_count()", &[]).unwrap().get(0);
    assert_eq!(count, 1);
}

#[test]
fn a_no_transaction_file_builds_an_index_concurrently() {
    let dir = TempDir::new();
    dir.write("V1__table.sql", "CREATE TABLE events (id int, kind text);\nINSERT INTO events SELECT g, 'a' FROM generate_series(1, 1000) g;\n")
        .write(
            "V2__events_kind_idx.sql",
            "-- no-transaction\n-- Builds the index without locking out writes.\nCREATE INDEX CONCURRENTLY events_kind_idx ON events (kind);\n\
             CREATE TABLE lock_seen AS SELECT count(*) AS held FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();\n",
        );
    let db = empty_database();
    let mut client = db.connect();
    assert_eq!(migrate(&mut client, &dir.set()).unwrap().len(), 2);
    let valid: bool = client
        .query_one("SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_kind_idx'::regclass", &[])
        .unwrap()
        .get(0);
    assert!(valid, "the concurrent build finished");
    let held: i64 = client.query_one("SELECT held FROM lock_seen", &[]).unwrap().get(0);
    assert_eq!(held, 1, "the statements ran under the migration lock");
    assert_eq!(history(&mut client), vec![(1, "table".to_string()), (2, "events_kind_idx".to_string())]);
}

#[test]
fn an_enum_value_added_in_a_file_is_usable_later_only_without_a_transaction() {
    let types = "CREATE TYPE mood AS ENUM ('sad');\nCREATE TABLE moods (m mood);\n";
    let uses = "ALTER TYPE mood ADD VALUE 'happy';\nINSERT INTO moods VALUES ('happy');\n";
    let db = empty_database();
    let mut client = db.connect();

    let dir = TempDir::new();
    dir.write("V1__types.sql", types).write("V2__happy.sql", uses);
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { line, message, .. } = &error else { panic!("{error}") };
    assert_eq!(*line, 2, "{message}");
    assert!(
        message.contains("55P04") && message.contains("make `-- no-transaction` this file's first line"),
        "{message}"
    );

    dir.write("V2__happy.sql", &format!("-- no-transaction\n{uses}"));
    migrate(&mut client, &dir.set()).unwrap_or_else(|e| panic!("{e}"));
    let stored: String = client.query_one("SELECT m::text FROM moods", &[]).unwrap().get(0);
    assert_eq!(stored, "happy");
}

#[test]
fn a_failing_second_statement_says_what_stays_applied_and_what_to_do() {
    let dir = TempDir::new();
    dir.write(
        "users/V1__users_parts.sql",
        "-- no-transaction\nCREATE TABLE users_part_a (id int);\nINSERT INTO users_part_a (nope)\n  VALUES (1);\nCREATE TABLE users_part_c (id int);\n",
    );
    let db = empty_database();
    let mut client = db.connect();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::StatementFailed { name, line, column, statement, statements, message, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!((name.as_str(), *line, *column, *statement, *statements), ("V1__users_parts", 3, 27, 2, 3), "{message}");
    let shown = error.to_string();
    eprintln!("{shown}");
    assert!(shown.contains("statement 1 (line 2) ran and stays applied"), "{shown}");
    assert!(shown.contains("statement 2 (line 3) failed"), "{shown}");
    assert!(shown.contains("not recorded as applied") && shown.contains("IF NOT EXISTS"), "{shown}");
    assert!(shown.contains("INSERT INTO public.refinery_schema_history"), "says how to record it by hand: {shown}");
    assert!(!shown.contains("rolled back"), "{shown}");
    assert!(table_exists(&mut client, "users_part_a"), "the first statement committed");
    assert!(!table_exists(&mut client, "users_part_c"), "nothing after the failure ran");
    assert_eq!(history(&mut client), vec![]);

    // Made safe to run again, the file finishes and is recorded.
    dir.write(
        "users/V1__users_parts.sql",
        "-- no-transaction\nCREATE TABLE IF NOT EXISTS users_part_a (id int);\nINSERT INTO users_part_a (id) VALUES (1);\nCREATE TABLE users_part_c (id int);\n",
    );
    assert_eq!(migrate(&mut client, &dir.set()).unwrap().len(), 1);
    assert_eq!(history(&mut client), vec![(1, "users_parts".to_string())]);
}

#[test]
fn a_no_transaction_file_cannot_control_transactions() {
    let dir = TempDir::new();
    dir.write("V1__nt.sql", "-- no-transaction\nCREATE TABLE nt (id int);\nBEGIN;\nSELECT 1;\nCOMMIT;\n");
    let db = empty_database();
    let mut client = db.connect();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(matches!(&error, Error::MigrationRefused { line: 3, .. }), "{error}");
    assert!(!table_exists(&mut client, "nt"));
}

#[test]
fn a_no_transaction_file_whose_history_row_fails_says_it_is_applied_but_not_recorded() {
    let dir = TempDir::new();
    dir.write("V1__a.sql", "CREATE TABLE nr_a (id int);\n").write(
        "V2__rogue.sql",
        "-- no-transaction\nCREATE TABLE nr_b (id int);\nALTER TABLE refinery_schema_history RENAME TO nr_history;\n",
    );
    let db = empty_database();
    let mut client = db.connect();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(matches!(&error, Error::NotRecorded { label, .. } if label == "V2__rogue"), "{error}");
    let shown = error.to_string();
    eprintln!("{shown}");
    assert!(shown.contains("ran without a transaction and all of it is applied, but recording it"), "{shown}");
    assert!(shown.contains("record it by hand once the cause is fixed: INSERT INTO"), "{shown}");
    assert!(!shown.contains("rolled back"), "{shown}");
    assert!(table_exists(&mut client, "nr_b"));
}
