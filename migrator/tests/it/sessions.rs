//! Every migration starts from the same session, the history is found whatever the search path,
//! a failing migration runs once, and the file is read as Postgres reads it: against a real
//! Postgres, with chains the tests write.

use crate::support::{table_exists, TempDir};
use devdb::{empty_database, role_server};
use migrator::migrate::{migrate, HISTORY_TABLE};
use migrator::migrations::MigrationSet;
use migrator::Error;

fn schema_of(client: &mut postgres::Client, table: &str) -> Option<String> {
    let sql =
        "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1";
    client.query_opt(sql, &[&table]).unwrap().map(|r| r.get(0))
}

#[test]
fn what_a_migration_sets_for_its_session_ends_with_it() {
    let db = empty_database();
    let mut client = db.connect();
    let dir = TempDir::new();
    let timeout: String = client.query_one("SHOW statement_timeout", &[]).unwrap().get(0);
    dir.write(
        "V1__elsewhere.sql",
        "CREATE SCHEMA other;\nSET search_path = other, public;\nSET statement_timeout = '1h';\n",
    )
    // What V2 sees is recorded, not timed: a leaked timeout would show as V1's value.
    .write("V2__plain.sql", "CREATE TABLE plain AS SELECT current_setting('statement_timeout') AS timeout;\n")
    // pg_dump's own way of emptying the search path, for the rest of the session.
    .write(
        "V3__dumped.sql",
        "SELECT pg_catalog.set_config('search_path', '', false);\nSET session_replication_role = replica;\n",
    )
    .write("V4__after_dump.sql", "CREATE TABLE after_dump (id int);\nCREATE TEMP TABLE scratch (id int);\n")
    .write("V5__again.sql", "CREATE TEMP TABLE scratch (id int);\n");
    let applied = migrate(&mut client, &dir.set()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applied.len(), 5);
    assert_eq!(schema_of(&mut client, "plain").as_deref(), Some("public"), "V1's search path did not reach V2");
    let seen: String = client.query_one("SELECT timeout FROM public.plain", &[]).unwrap().get(0);
    assert_eq!(seen, timeout, "V1's statement_timeout did not reach V2");
    assert_eq!(schema_of(&mut client, "after_dump").as_deref(), Some("public"));
    let row = client
        .query_one("SELECT current_setting('search_path'), current_setting('session_replication_role')", &[])
        .unwrap();
    let (path, role): (String, String) = (row.get(0), row.get(1));
    assert_eq!(
        (path.as_str(), role.as_str()),
        ("\"$user\", public", "origin"),
        "the run leaves the session as it found it"
    );
}

#[test]
fn a_role_a_migration_switches_to_ends_with_it_and_is_the_one_advice_names() {
    let owner = role_server().test_role().unwrap();
    let other = role_server().test_role().unwrap();
    let mut admin = migrator::db::connect(role_server().url()).unwrap();
    admin.batch_execute(&format!("GRANT {} TO {}", other.name(), owner.name())).unwrap();
    let mut client = migrator::db::connect(&owner.url()).unwrap();
    let dir = TempDir::new();
    dir.write("V1__switch.sql", &format!("SET ROLE {};\n", other.name()))
        .write("V2__owned.sql", "CREATE TABLE owned (id int);\n");
    migrate(&mut client, &dir.set()).unwrap_or_else(|e| panic!("{e}"));
    let table_owner: String =
        client.query_one("SELECT tableowner::text FROM pg_tables WHERE tablename = 'owned'", &[]).unwrap().get(0);
    assert_eq!(table_owner, owner.name(), "V1's SET ROLE did not reach V2");

    // A statement run as the role a migration switched to is refused as that role.
    dir.write(
        "V3__as_other.sql",
        &format!("SELECT 1;\nSET ROLE {};\nCREATE TABLE public.refused (id int);\n", other.name()),
    );
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { line, message, .. } = &error else { panic!("{error}") };
    eprintln!("{error}");
    assert_eq!(*line, 3, "{message}");
    let name = other.name();
    assert!(
        message.contains(&format!(
            "The role {name} lacks the CREATE privilege on schema public: as its owner or a superuser, run \
             `GRANT CREATE ON SCHEMA public TO {name};`"
        )),
        "{message}"
    );
    assert!(!message.contains(&format!("TO {};", owner.name())), "the migrating role is not to blame: {message}");
    drop(client);
    drop(admin);
}

#[test]
fn the_history_is_found_whatever_search_path_the_database_sets() {
    let db = empty_database();
    let dir = TempDir::new();
    dir.write(
        "V1__app_schema.sql",
        "CREATE SCHEMA app;\nDO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = app', current_database()); END $$;\n",
    )
    .write("V2__in_app.sql", "CREATE TABLE widgets (id int);\n");
    assert_eq!(migrate(&mut db.connect(), &dir.set()).unwrap().len(), 2);
    // A new connection starts with search_path = app, where there is no history table.
    let mut client = db.connect();
    let path: String = client.query_one("SELECT current_setting('search_path')", &[]).unwrap().get(0);
    assert_eq!(path, "app");
    assert_eq!(migrate(&mut client, &dir.set()).unwrap(), vec![], "nothing runs twice");
    let tables: i64 =
        client.query_one("SELECT count(*) FROM pg_class WHERE relname = $1", &[&HISTORY_TABLE]).unwrap().get(0);
    assert_eq!(tables, 1, "no second history table");
    let snapshot = migrator::schema::Snapshot::read(&mut client).unwrap();
    assert!(!snapshot.objects.keys().any(|k| k.contains(HISTORY_TABLE)), "sdm check leaves the history out");
    assert_eq!(
        migrator::migrate::status(&mut client, &dir.set()).unwrap().iter().filter(|s| s.applied_on.is_some()).count(),
        2
    );
}

#[test]
fn a_failing_migration_runs_once_and_is_named_by_its_statement() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE SEQUENCE calls").unwrap();
    let dir = TempDir::new();
    // "already exists" comes without a position.
    dir.write(
        "V1__twice.sql",
        "SELECT nextval('calls');\nCREATE TABLE dup (id int);\n-- again\nCREATE TABLE dup (id int);\n",
    );
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { line, column, message, .. } = &error else { panic!("{error}") };
    assert_eq!((*line, *column), (4, 1), "{message}");
    assert!(
        message.contains("relation \"dup\" already exists") && message.contains("    | CREATE TABLE dup"),
        "{message}"
    );
    let calls: i64 = client.query_one("SELECT last_value FROM calls", &[]).unwrap().get(0);
    assert_eq!(calls, 1, "the migration ran once");
    assert!(!table_exists(&mut client, "dup"));

    // A deferred constraint fails at COMMIT, after every statement: said so.
    let dir = TempDir::new();
    dir.write(
        "V1__deferred.sql",
        "CREATE TABLE parent (id int PRIMARY KEY);\n\
         CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO child VALUES (1);\n",
    );
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(error.to_string().contains("at COMMIT, where Postgres checks deferred constraints"), "{error}");
}

#[test]
fn a_failure_is_numbered_from_its_own_statements_whatever_the_migration_before_it_did() {
    // What a migration may do to the session's temporary schema, or to the runner's own
    // progress sequences, which the runner keeps from one migration to the next.
    let before = [
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);\n",
        "CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n",
        "CREATE TEMP TABLE t (id int);\n",
        "REVOKE ALL ON SEQUENCE pg_temp.sdm_migration_progress FROM PUBLIC;\n",
        "ALTER SEQUENCE pg_temp.sdm_migration_progress INCREMENT BY 5;\n",
        "SELECT nextval('pg_temp.sdm_migration_progress'), nextval('pg_temp.sdm_migration_progress');\n",
        "DISCARD TEMP;\n",
    ];
    for sql in before {
        let db = empty_database();
        let mut client = db.connect();
        let dir = TempDir::new();
        // "already exists" comes without a position: only the progress marks name the statement.
        dir.write("V1__plain.sql", "CREATE TABLE first (id int);\n").write("V2__before.sql", sql).write(
            "V3__twice.sql",
            "CREATE TABLE e (id int);\nCREATE TABLE dup (id int);\nCREATE TABLE dup (id int);\n",
        );
        let error = migrate(&mut client, &dir.set()).unwrap_err();
        let Error::MigrationFailed { name, line, message, .. } = &error else { panic!("after {sql}: {error}") };
        assert_eq!((name.as_str(), *line), ("V3__twice", 3), "after {sql}: {message}");
        assert!(message.contains("relation \"dup\" already exists"), "after {sql}: {message}");
    }
    // A file that runs DISCARD TEMP itself runs, but a failure in it cannot be numbered: said so.
    let db = empty_database();
    let mut client = db.connect();
    let dir = TempDir::new();
    dir.write("V1__discards.sql", "CREATE TEMP TABLE t (id int);\nDISCARD TEMP;\nCREATE TABLE kept (id int);\n")
        .write("V2__discards.sql", "DISCARD TEMP;\nCREATE TABLE dup (id int);\nCREATE TABLE dup (id int);\n");
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { name, message, .. } = &error else { panic!("{error}") };
    assert_eq!(name, "V2__discards", "{message}");
    assert!(message.contains("the runner did not number the statements: the file runs DISCARD"), "{message}");
    assert!(table_exists(&mut client, "kept"), "V1 ran");
}

#[test]
fn begin_and_end_are_read_as_names_where_postgres_reads_them_so() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE SCHEMA s").unwrap();
    for (function, line) in [("begin", 1), ("s.begin", 2)] {
        let dir = TempDir::new();
        dir.write(
            "V1__sneaky.sql",
            &format!(
                "CREATE FUNCTION {function}() RETURNS int LANGUAGE sql AS 'SELECT 1';\n{}CREATE TABLE x(i int); COMMIT; SELECT 1/0;\n",
                if line == 2 { "\n" } else { "" }
            ),
        );
        let error = migrate(&mut client, &dir.set()).unwrap_err();
        let Error::MigrationRefused { line: at, message, .. } = &error else { panic!("{function}: {error}") };
        assert_eq!(*at, line + 1, "{message}");
        assert!(message.starts_with("`COMMIT`: this statement ends the migration's transaction"), "{message}");
        assert!(!table_exists(&mut client, "x"), "nothing of {function} was applied");
        assert!(!table_exists(&mut client, HISTORY_TABLE), "nothing of the run was applied");
    }
    // `x.end` and `AS end` in a SQL-standard body are names, and the file runs.
    let dir = TempDir::new();
    dir.write(
        "V1__atomic.sql",
        "CREATE TABLE t (\"end\" int);\nCREATE FUNCTION ends() RETURNS SETOF int LANGUAGE sql\nBEGIN ATOMIC\n  \
         SELECT x.end FROM t x;\n  SELECT CASE WHEN true THEN 1 END AS end;\nEND;\nCREATE TABLE after_body (id int);\n",
    );
    migrate(&mut client, &dir.set()).unwrap_or_else(|e| panic!("{e}"));
    assert!(table_exists(&mut client, "after_body"));

    // Turning standard_conforming_strings off would make Postgres read the quotes after it otherwise.
    dir.write("V2__escapes.sql", "SET standard_conforming_strings = off;\nSELECT 'a\\'; DROP TABLE t; --';\n");
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(error.to_string().contains("with standard_conforming_strings on"), "{error}");
    assert!(table_exists(&mut client, "t"));
}

#[test]
fn a_no_transaction_file_postgres_reads_otherwise_runs_none_of_its_statements() {
    let db = empty_database();
    let mut client = db.connect();
    let dir = TempDir::new();
    dir.write(
        "V1__half.sql",
        "-- no-transaction\nCREATE TABLE first_half (id int);\nSELECT (1;\nCREATE TABLE second_half (id int);\n",
    );
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { line, message, .. } = &error else { panic!("{error}") };
    eprintln!("{error}");
    assert!(
        message
            .contains("Postgres's parser does not read statement 2 of 2 as one statement, so nothing of the file ran"),
        "{message}"
    );
    assert!(*line >= 3, "{message}");
    assert!(!table_exists(&mut client, "first_half"), "the statement before it did not run");
}

#[test]
fn the_largest_version_is_refused_by_name_and_a_database_holding_it_does_not_panic() {
    let dir = TempDir::new();
    dir.write("V2147483647__x.sql", "SELECT 1;\n");
    let error = MigrationSet::from_dir(dir.path()).unwrap_err();
    assert!(error.to_string().contains("V2147483647__x.sql`: version 2147483647 is the largest"), "{error}");

    // refinery itself may have recorded it.
    let db = empty_database();
    let mut client = db.connect();
    let ok = TempDir::new();
    ok.write("V1__a.sql", "SELECT 1;\n");
    migrate(&mut client, &ok.set()).unwrap();
    client
        .batch_execute(&format!("INSERT INTO {HISTORY_TABLE} VALUES (2147483647, 'x', '2026-01-01T00:00:00Z', '1')"))
        .unwrap();
    let error = migrate(&mut client, &ok.set()).unwrap_err();
    // The files end at V1: the database is ahead of this checkout, and says so.
    assert!(matches!(error, Error::CheckoutBehind { .. }), "{error}");
    assert!(
        error.to_string().starts_with("this database applied V2147483647__x, newer than every migration"),
        "{error}"
    );
}
