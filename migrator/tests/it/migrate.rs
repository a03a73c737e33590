//! Tests for the migration set and its runner: file validation, and applying against real Postgres.

use std::sync::{Arc, Barrier};

use crate::support::{history, table_exists, TempDir};
use devdb::empty_database;
use migrator::migrate::{migrate, migrate_each, show_migrations, status, HISTORY_TABLE};
use migrator::migrations::MigrationSet;
use migrator::Error;

/// Asserts `result` is a `MigrationFile` error for `file` (relative to the folder) mentioning `needles`.
fn assert_file_error(result: migrator::Result<MigrationSet>, dir: &TempDir, file: &str, needles: &[&str]) {
    match result {
        Err(Error::MigrationFile { path, message }) => {
            assert_eq!(path, dir.path().join(file), "{message}");
            for needle in needles {
                assert!(message.contains(needle), "expected {needle:?} in: {message}");
            }
        }
        Err(other) => panic!("expected a migration file error for {file}, got: {other}"),
        Ok(set) => panic!("expected an error for {file}, got {} migrations", set.files.len()),
    }
}

#[test]
fn misnamed_files_are_errors_naming_the_file() {
    let cases = [
        ("V7_x.sql", "two underscores"),
        ("V8__has-dash.sql", "`-` is not allowed"),
        ("v9__x.sql", "capital `V`"),
        ("U3__x.sql", "unversioned"),
    ];
    for (name, problem) in cases {
        // Flat folder.
        let dir = TempDir::new();
        dir.write("V1__ok.sql", "SELECT 1;").write(name, "SELECT 1;");
        assert_file_error(
            MigrationSet::from_dir(dir.path()),
            &dir,
            name,
            &[name, problem, "V<version>__<name>.sql", "refinery skips"],
        );
        // Module folder.
        let dir = TempDir::new();
        dir.write("users/V1__ok.sql", "SELECT 1;").write(&format!("evidence/{name}"), "SELECT 1;");
        assert_file_error(MigrationSet::from_dir(dir.path()), &dir, &format!("evidence/{name}"), &[name, problem]);
    }

    let dir = TempDir::new();
    dir.write("V1__ok.sql", "SELECT 1;").write("notes.txt", "todo");
    assert_file_error(MigrationSet::from_dir(dir.path()), &dir, "notes.txt", &["not a migration"]);

    // README.md and .gitkeep are allowed anywhere.
    let dir = TempDir::new();
    dir.write("README.md", "# migrations").write("users/.gitkeep", "").write("users/V1__ok.sql", "SELECT 1;");
    assert_eq!(dir.set().files.len(), 1);
}

#[test]
fn duplicate_versions_are_errors_naming_both_files() {
    let dir = TempDir::new();
    dir.write("users/V3__add_email.sql", "SELECT 1;")
        .write("evidence/V3__add_title.sql", "SELECT 2;")
        .write("users/V4__more.sql", "SELECT 3;");
    let first = dir.path().join("evidence/V3__add_title.sql");
    let second = dir.path().join("users/V3__add_email.sql");
    assert_file_error(
        MigrationSet::from_dir(dir.path()),
        &dir,
        "users/V3__add_email.sql",
        &["version 3 is used twice", &first.display().to_string(), &second.display().to_string(), "V5"],
    );
}

#[test]
fn folders_must_be_modules_and_files_must_sit_in_them() {
    // Any chain's modules are welcome, named as a table prefix can be.
    let dir = TempDir::new();
    dir.write("users/V1__a.sql", "SELECT 1;").write("billing/V2__b.sql", "SELECT 1;");
    let modules: Vec<Option<String>> = dir.set().files.into_iter().map(|f| f.module).collect();
    assert_eq!(modules, [Some("users".to_string()), Some("billing".to_string())]);
    let dir = TempDir::new();
    dir.write("users/V1__a.sql", "SELECT 1;").write("Billing-v2/V2__b.sql", "SELECT 1;");
    assert_file_error(MigrationSet::from_dir(dir.path()), &dir, "Billing-v2", &["`Billing-v2` is not a module"]);

    let dir = TempDir::new();
    dir.write("users/V1__a.sql", "SELECT 1;").write("users/old/V2__b.sql", "SELECT 1;");
    assert_file_error(MigrationSet::from_dir(dir.path()), &dir, "users/old", &["nested folder"]);

    let dir = TempDir::new();
    dir.write("users/V1__a.sql", "SELECT 1;").write("V2__b.sql", "SELECT 1;");
    assert_file_error(MigrationSet::from_dir(dir.path()), &dir, "V2__b.sql", &["next to module folders"]);

    let missing = std::env::temp_dir().join("sdm-migrate-test-no-such-folder");
    assert!(matches!(MigrationSet::from_dir(&missing), Err(Error::Io { .. })));
}

#[test]
fn reads_flat_and_module_folders_in_version_order() {
    let dir = TempDir::new();
    dir.write("V10__ten.sql", "SELECT 10;\n  -- squash: keep  \n")
        .write("V2__two.sql", "SELECT 2; -- squash: keep\n-- squash: keep it\n");
    let set = dir.set();
    let summary: Vec<_> = set.files.iter().map(|f| (f.version, f.label(), f.module.clone(), f.keep)).collect();
    assert_eq!(summary, vec![(2, "V2__two".into(), None, false), (10, "V10__ten".into(), None, true)]);
    assert_eq!(set.files[1].sql, "SELECT 10;\n  -- squash: keep  \n");
    assert_eq!(set.files[0].relative_path(), "V2__two.sql");

    let dir = TempDir::new();
    dir.write("memory/V2__m.sql", "SELECT 2;").write("users/V1__u.sql", "SELECT 1;");
    let set = dir.set();
    let modules: Vec<_> = set.files.iter().map(|f| (f.version, f.module.as_deref().unwrap().to_string())).collect();
    assert_eq!(modules, vec![(1, "users".to_string()), (2, "memory".to_string())]);
    assert_eq!(set.files[1].relative_path(), "memory/V2__m.sql");

    // The content hash ignores where the folder lives, and sees every byte of SQL.
    let copy = TempDir::new();
    copy.write("memory/V2__m.sql", "SELECT 2;").write("users/V1__u.sql", "SELECT 1;");
    assert_eq!(set.content_hash(), copy.set().content_hash());
    copy.write("memory/V2__m.sql", "SELECT 2; ");
    assert_ne!(set.content_hash(), copy.set().content_hash());
}

#[test]
fn sql_error_names_file_line_and_column_and_applies_nothing_of_that_migration() {
    let dir = TempDir::new();
    dir.write("V1__first.sql", "CREATE TABLE first_table (id int);\n")
        .write(
            "V2__second.sql",
            "-- The second statement names a column that does not exist.\n\
             CREATE TABLE second_table (id int);\n\
             INSERT INTO second_table (id, nope)\n    \
             VALUES (1, 2);\n",
        )
        .write("V3__third.sql", "CREATE TABLE third_table (id int);\n");
    let set = dir.set();
    let db = empty_database();
    let mut client = db.connect();

    let error = migrate(&mut client, &set).unwrap_err();
    let Error::MigrationFailed { name, path, line, column, message } = &error else { panic!("{error}") };
    assert_eq!(name, "V2__second");
    assert_eq!(path, &dir.path().join("V2__second.sql"));
    assert_eq!((*line, *column), (3, 31), "{message}");
    assert!(message.contains(r#"column "nope" of relation "second_table" does not exist"#), "{message}");
    assert!(message.contains("42703"), "{message}");
    assert!(message.contains("rolled back"), "{message}");
    let shown = error.to_string();
    assert!(shown.contains(&format!("{}:3:31", dir.path().join("V2__second.sql").display())), "{shown}");
    assert!(!shown.starts_with("db error"), "{shown}");

    assert!(table_exists(&mut client, "first_table"));
    assert!(!table_exists(&mut client, "second_table"), "the failed migration left a table behind");
    assert!(!table_exists(&mut client, "third_table"));
    assert_eq!(history(&mut client), vec![(1, "first".to_string())]);
    // The connection is still usable, and the advisory lock was released.
    let locks: i64 = client
        .query_one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    assert_eq!(locks, 0);
}

#[test]
fn sql_error_without_a_position_points_at_the_failing_statement() {
    let dir = TempDir::new();
    // "already exists" carries no error position: the runner finds the statement itself.
    dir.write("V1__dup.sql", "CREATE TABLE dup (id int);\n\n  /* again; */ CREATE TABLE dup (id int);\n");
    let db = empty_database();
    let mut client = db.connect();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { line, column, message, .. } = &error else { panic!("{error}") };
    assert_eq!((*line, *column), (3, 16), "{message}");
    assert!(message.contains(r#"relation "dup" already exists"#), "{message}");
    assert!(!table_exists(&mut client, "dup"), "the diagnosis must roll back too");
    assert_eq!(history(&mut client), vec![]);

    // Positions count characters, not bytes.
    let dir = TempDir::new();
    dir.write("V1__accents.sql", "SELECT 'ééé', nope;\n");
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { line, column, message, .. } = &error else { panic!("{error}") };
    assert_eq!((*line, *column), (1, 15), "{message}");
    assert!(message.contains(r#"column "nope" does not exist"#), "{message}");
}

#[test]
fn create_index_concurrently_fails_with_advice() {
    let dir = TempDir::new();
    dir.write("V1__t.sql", "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n");
    let db = empty_database();
    let mut client = db.connect();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { line, message, .. } = &error else { panic!("{error}") };
    assert_eq!(*line, 2, "{message}");
    assert!(message.contains("cannot run inside a transaction block"), "{message}");
    assert!(message.contains("CREATE INDEX instead of CREATE INDEX CONCURRENTLY"), "{message}");
    assert!(!table_exists(&mut client, "t"));
}

#[test]
fn migrating_twice_applies_nothing_the_second_time() {
    let dir = TempDir::new();
    // No final semicolon, and a comment without a newline at the end of the file.
    dir.write("users/V1__a.sql", "CREATE TABLE users_a (id int) -- the end")
        .write("evidence/V2__b.sql", "CREATE TABLE evidence_b (id int);");
    let set = dir.set();
    let db = empty_database();
    let mut client = db.connect();
    let started = std::time::Instant::now();
    let first = migrate(&mut client, &set).unwrap();
    let wall = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(first.iter().map(|m| (m.version, m.name.as_str())).collect::<Vec<_>>(), vec![(1, "a"), (2, "b")]);
    // Each time is measured (not zero), in milliseconds (together within the call's wall time).
    let times: Vec<f64> = first.iter().map(|m| m.millis).collect();
    assert!(times.iter().all(|&t| t > 0.0) && times.iter().sum::<f64>() <= wall, "{times:?} in {wall} ms");
    assert_eq!(migrate(&mut client, &set).unwrap(), vec![]);
    assert_eq!(history(&mut client), vec![(1, "a".to_string()), (2, "b".to_string())]);

    // A new file runs on the next migrate, and after_each sees it after it committed.
    dir.write("users/V3__c.sql", "CREATE TABLE users_c (id int);");
    let mut seen = Vec::new();
    let applied = migrate_each(&mut client, &dir.set(), &mut |client, file| {
        let committed: i64 = client
            .query_one(&format!("SELECT count(*) FROM {HISTORY_TABLE} WHERE version = $1"), &[&file.version])
            .unwrap()
            .get(0);
        seen.push((file.label(), committed));
        Ok(())
    })
    .unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(seen, vec![("V3__c".to_string(), 1)]);
}

#[test]
fn unterminated_sql_fails_instead_of_swallowing_the_history_row() {
    let db = empty_database();
    let mut client = db.connect();
    for (sql, needle) in [
        ("CREATE TABLE t (id int); /* never closed", "unterminated /* comment"),
        ("CREATE TABLE t (note text DEFAULT 'never closed);", "unterminated quoted string"),
        ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1;", "unterminated dollar-quoted string"),
        ("CREATE TABLE t (id int", "syntax error"),
    ] {
        let dir = TempDir::new();
        dir.write("V1__open.sql", sql);
        let error = migrate(&mut client, &dir.set()).unwrap_err();
        assert!(matches!(&error, Error::MigrationFailed { message, .. } if message.contains(needle)), "{error}");
        assert!(!table_exists(&mut client, "t"));
        assert_eq!(history(&mut client), vec![]);
    }
    // A constraint checked at COMMIT rolls the migration back too.
    let dir = TempDir::new();
    dir.write(
        "V1__deferred.sql",
        "CREATE TABLE parent (id int PRIMARY KEY);\n\
         CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\n\
         INSERT INTO child VALUES (1);\n",
    );
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(
        matches!(&error, Error::MigrationFailed { message, .. } if message.contains("violates foreign key constraint")),
        "{error}"
    );
    assert!(!table_exists(&mut client, "parent"));
    assert_eq!(history(&mut client), vec![]);
}

#[test]
fn changed_or_missing_applied_migrations_are_refused() {
    let dir = TempDir::new();
    dir.write("V1__a.sql", "CREATE TABLE a (id int);").write("V2__b.sql", "CREATE TABLE b (id int);");
    let db = empty_database();
    let mut client = db.connect();
    migrate(&mut client, &dir.set()).unwrap();

    dir.write("V2__b.sql", "CREATE TABLE b (id bigint);").write("V3__c.sql", "CREATE TABLE c (id int);");
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationChanged { label, path, next_free, .. } = &error else { panic!("{error}") };
    assert_eq!((label.as_str(), path, *next_free), ("V2__b", &dir.path().join("V2__b.sql"), 4));
    let message = error.to_string();
    assert!(message.contains("migration V2__b was changed after it was applied"), "{message}");
    assert!(message.contains(&dir.path().join("V2__b.sql").display().to_string()), "{message}");
    assert!(message.contains("put the change in a new migration, V4"), "{message}");
    assert!(!table_exists(&mut client, "c"), "nothing runs when the history does not match");

    // A rename keeps the version but changes refinery's name.
    dir.write("V2__b.sql", "CREATE TABLE b (id int);");
    std::fs::rename(dir.path().join("V2__b.sql"), dir.path().join("V2__renamed.sql")).unwrap();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(matches!(&error, Error::MigrationChanged { label, .. } if label == "V2__b"), "{error}");
    assert!(error.to_string().contains("V2__b was changed after it was applied"), "{error}");
    assert!(error.to_string().contains("V2__renamed.sql is now V2__renamed (checksum"), "{error}");

    // An applied migration whose file is gone.
    std::fs::remove_file(dir.path().join("V2__renamed.sql")).unwrap();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(matches!(&error, Error::MigrationMissing { label, version: 2, .. } if label == "V2__b"), "{error}");
    assert!(error.to_string().contains("no migration file with version 2"), "{error}");
    let statuses = status(&mut client, &dir.set()).unwrap();
    let gone = statuses.iter().find(|s| s.version == 2).unwrap();
    assert!(gone.missing_file && gone.applied_on.is_some() && gone.name == "b");
}

#[test]
fn a_migration_that_drops_the_history_table_is_rolled_back() {
    let dir = TempDir::new();
    dir.write("V1__a.sql", "CREATE TABLE a (id int);").write("V2__rogue.sql", &format!("DROP TABLE {HISTORY_TABLE};"));
    let db = empty_database();
    let mut client = db.connect();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(matches!(&error, Error::HistoryWrite { label, .. } if label == "V2__rogue"), "{error}");
    assert!(error.to_string().contains("recording migration V2__rogue"), "{error}");
    assert_eq!(history(&mut client), vec![(1, "a".to_string())]);
}

#[test]
fn a_new_migration_below_the_applied_ones_is_refused() {
    let dir = TempDir::new();
    dir.write("V1__a.sql", "SELECT 1;").write("V5__e.sql", "SELECT 5;");
    let db = empty_database();
    let mut client = db.connect();
    migrate(&mut client, &dir.set()).unwrap();
    dir.write("V3__c.sql", "SELECT 3;");
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::OutOfOrder { label, last_applied, next_free, .. } = &error else { panic!("{error}") };
    assert_eq!((label.as_str(), last_applied.as_str(), *next_free), ("V3__c", "V5__e", 6));
    assert!(error.to_string().contains("renumber it to V6"), "{error}");
}

#[test]
fn concurrent_runners_apply_every_migration_exactly_once() {
    let dir = TempDir::new();
    for v in 1..=6 {
        // CREATE TABLE fails when run twice; the sleep widens the window for a race.
        dir.write(&format!("V{v}__step{v}.sql"), &format!("CREATE TABLE step{v} (id int);\nSELECT pg_sleep(0.02);\n"));
    }
    let set = Arc::new(dir.set());
    let db = empty_database();
    let url = db.url().to_string();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (set, url, barrier) = (set.clone(), url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut client = migrator::db::connect(&url).unwrap();
                barrier.wait();
                migrate(&mut client, &set).map(|applied| applied.len())
            })
        })
        .collect();
    let applied: Vec<usize> =
        handles.into_iter().map(|h| h.join().unwrap().unwrap_or_else(|e| panic!("{e}"))).collect();
    assert_eq!(applied.iter().sum::<usize>(), 6, "{applied:?}");
    let mut client = db.connect();
    let rows = history(&mut client);
    assert_eq!(rows, (1..=6).map(|v| (v, format!("step{v}"))).collect::<Vec<_>>());
}

#[test]
fn show_migrations_prints_a_partly_applied_set() {
    let dir = TempDir::new();
    dir.write("users/V1__users_tables.sql", "CREATE TABLE users_account (id int);")
        .write("evidence/V2__evidence_tables.sql", "CREATE TABLE evidence_document (id int);");
    let db = empty_database();
    let mut client = db.connect();
    // A database with no history table has applied nothing, and status creates nothing.
    let before = status(&mut client, &dir.set()).unwrap();
    assert!(before.iter().all(|s| s.applied_on.is_none() && !s.missing_file));
    assert!(!table_exists(&mut client, HISTORY_TABLE));

    migrate(&mut client, &dir.set()).unwrap();
    dir.write("memory/V5__memory_tables.sql", "SELECT 1;")
        .write("journeys/V3__journeys_tables.sql", "SELECT 1;")
        .write("users/V4__users_email.sql", "SELECT 1;");
    let statuses = status(&mut client, &dir.set()).unwrap();
    assert_eq!(
        show_migrations(&statuses),
        "users\n [X] V1__users_tables\n [ ] V4__users_email\n\
         evidence\n [X] V2__evidence_tables\n\
         journeys\n [ ] V3__journeys_tables\n\
         memory\n [ ] V5__memory_tables\n"
    );
    let applied_on = statuses[0].applied_on.as_deref().unwrap();
    assert!(applied_on.ends_with('Z') && applied_on.contains('T'), "{applied_on}");
}

#[test]
fn history_rows_are_compatible_with_refinery() {
    let dir = TempDir::new();
    dir.write("V1__a.sql", "CREATE TABLE a (id int);").write("V2__b.sql", "CREATE TABLE b (note text DEFAULT 'é');");
    let set = dir.set();
    let refinery_migrations =
        || set.files.iter().map(|f| refinery::Migration::unapplied(&f.label(), &f.sql).unwrap()).collect::<Vec<_>>();

    // Ours first: refinery parses our rows (it unwraps applied_on as RFC 3339) and finds nothing to do.
    let db = empty_database();
    let mut client = db.connect();
    migrate(&mut client, &set).unwrap();
    let runner = refinery::Runner::new(&refinery_migrations());
    let applied = runner.get_applied_migrations(&mut client).unwrap();
    assert_eq!(
        applied.iter().map(|m| (m.version(), m.checksum())).collect::<Vec<_>>(),
        set.files.iter().map(|f| (f.version, f.checksum())).collect::<Vec<_>>()
    );
    let report = refinery::Runner::new(&refinery_migrations()).run(&mut client).unwrap();
    assert!(report.applied_migrations().is_empty());

    // refinery first: our runner accepts its rows and checksums.
    let db = empty_database();
    let mut client = db.connect();
    refinery::Runner::new(&refinery_migrations()).run(&mut client).unwrap();
    assert_eq!(migrate(&mut client, &set).unwrap(), vec![]);
    assert!(status(&mut client, &set).unwrap().iter().all(|s| s.applied_on.is_some()));
}

#[test]
fn a_migration_that_empties_the_search_path_is_still_recorded() {
    // pg_dump output (and so squash's generated files) does this; the history row must not care.
    let dir = TempDir::new();
    dir.write(
        "users/V1__qualified.sql",
        "SELECT pg_catalog.set_config('search_path', '', true);\nCREATE TABLE public.users_q (id int);",
    )
    .write("users/V2__after.sql", "CREATE TABLE users_after (id int);");
    let db = empty_database();
    let mut client = db.connect();
    let applied = migrate(&mut client, &dir.set()).unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(history(&mut client), vec![(1, "qualified".to_string()), (2, "after".to_string())]);
    assert!(table_exists(&mut client, "users_after"), "V2 ran with the usual search path");
}

#[test]
fn database_errors_show_the_server_report_once() {
    let db = empty_database();
    let mut client = db.connect();
    let error = Error::from(client.execute("SELECT * FROM no_such_table", &[]).unwrap_err());
    let shown = format!("{:#}", anyhow::Error::from(error));
    assert_eq!(shown, r#"database: ERROR 42P01: relation "no_such_table" does not exist"#);
}
