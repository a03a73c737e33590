//! Scratch databases drop themselves, stale ones are cleaned up, and schemas compare as dumped.

use devdb::{empty_database, test_server, Schema, Server, SCRATCH_PREFIX};

fn exists(server: &Server, name: &str) -> bool {
    let mut client = server.connect().unwrap();
    client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).unwrap().is_some()
}

#[test]
fn a_scratch_database_is_dropped_with_its_guard() {
    let server = test_server();
    let db = server.scratch_database("guard").unwrap();
    let name = db.name().to_string();
    assert!(name.starts_with(SCRATCH_PREFIX) && name.ends_with("_guard"), "{name}");
    db.connect().batch_execute("CREATE TABLE t (id int)").unwrap();
    assert!(exists(server, &name));
    drop(db);
    assert!(!exists(server, &name), "{name} outlived its guard");
}

#[test]
fn migrated_databases_are_clones_of_one_template() {
    let server = test_server();
    let set = migrator::migrations::MigrationSet::from_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test_data/chains/sdm/migrations"),
    )
    .unwrap();
    let template = server.template_for(&set).unwrap();
    let (a, b) = (server.test_database(Some(&set)).unwrap(), server.test_database(Some(&set)).unwrap());
    assert_ne!(a.name(), b.name());
    assert_eq!(server.template_for(&set).unwrap(), template, "the template is built once");
    let count = format!("SELECT count(*) FROM {}", migrator::migrate::HISTORY_TABLE);
    let applied = |db: &devdb::TestDatabase| -> i64 { db.connect().query_one(&count, &[]).unwrap().get(0) };
    assert_eq!(applied(&a), set.files.len() as i64);
    assert_eq!(applied(&b), set.files.len() as i64);
}

#[test]
fn stale_scratch_databases_of_dead_processes_are_dropped() {
    // On the ephemeral cluster only (a real server's databases may belong to another machine).
    let server = Server::ephemeral().unwrap();
    // No process has pid 4194304 (above Linux's pid_max).
    let stale = format!("{SCRATCH_PREFIX}4194304_1_0_killed");
    server.create_database(&stale, None).unwrap();
    let ours = server.scratch_database("alive").unwrap();
    // Another test process on this cluster may drop it first (a squash's prepare step does), so
    // what counts is that it is gone, not who dropped it.
    server.drop_stale_databases().unwrap();
    assert!(!exists(&server, &stale), "the dead process's database is still there");
    assert!(exists(&server, ours.name()), "a live process's database was dropped");
    let external = Server::external(server.url().to_string());
    assert_eq!(external.drop_stale_databases().unwrap(), Vec::<String>::new(), "never on a real server");
}

#[test]
fn a_schema_dump_shows_what_changed() {
    let db = empty_database();
    let mut client = db.connect();
    client.batch_execute("CREATE TABLE note (id integer PRIMARY KEY, body text)").unwrap();
    let before = Schema::dump(test_server(), db.name(), &["note"]).unwrap();
    assert!(
        before.text().contains("CREATE TABLE public.note (\n    id integer NOT NULL,\n    body text\n);"),
        "{before}"
    );
    assert_eq!(before, Schema::dump(test_server(), db.name(), &[]).unwrap(), "the table is the whole schema");
    client.batch_execute("ALTER TABLE note ALTER COLUMN body SET NOT NULL").unwrap();
    let after = Schema::dump(test_server(), db.name(), &["note"]).unwrap();
    let diff = before.diff(&after).expect("the column changed");
    assert!(diff.contains("-    body text\n+    body text NOT NULL\n"), "{diff}");
}

#[test]
fn a_missing_database_names_itself_without_the_password() {
    let server = Server::external("postgres://sdm:hunter2@localhost:1/sdm".to_string());
    let err = Schema::dump(&server, "nowhere", &[]).unwrap_err();
    let message = migrator::db::with_sources(&err);
    assert!(message.starts_with("pg_dump --schema-only of database nowhere failed"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

/// A connection handed back to its database serves the next caller, with nothing of the last
/// session left: no settings, role, temporary table or advisory lock.
#[test]
fn a_connection_handed_back_is_reused_with_its_session_reset() {
    let role = test_server().test_role().unwrap();
    let db = empty_database();
    let pid = {
        let mut client = db.client().unwrap();
        client
            .batch_execute(&format!(
                "SET search_path = pg_catalog; \
                 SET work_mem = '7MB'; CREATE TEMP TABLE scratch_note (n int); SELECT pg_advisory_lock(42); \
                 SET ROLE {role}",
                role = role.name()
            ))
            .unwrap();
        client.query_one("SELECT pg_backend_pid()", &[]).unwrap().get::<_, i32>(0)
    };
    let mut client = db.client().unwrap();
    let row = client
        .query_one(
            "SELECT pg_backend_pid(), current_setting('search_path'), current_setting('work_mem'), \
             current_user = session_user, to_regclass('pg_temp.scratch_note') IS NULL, \
             (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), pid, "the same connection");
    assert_eq!(row.get::<_, String>(1), "\"$user\", public");
    assert_eq!(row.get::<_, String>(2), "4MB");
    assert!(row.get::<_, bool>(3), "back to the session's own role");
    assert!(row.get::<_, bool>(4), "the temporary table is gone");
    assert_eq!(row.get::<_, i64>(5), 0, "no advisory lock held");
}

/// A connection handed back inside a transaction block is closed, which rolls the transaction
/// back; so is one whose session ended. The next caller gets a new connection.
#[test]
fn a_connection_in_a_transaction_or_whose_session_ended_is_not_reused() {
    let db = empty_database();
    let pid = |client: &mut devdb::Reused| client.query_one("SELECT pg_backend_pid()", &[]).unwrap().get::<_, i32>(0);
    let mut client = db.client().unwrap();
    let first = pid(&mut client);
    client.batch_execute("CREATE TABLE notes (n int)").unwrap();
    client.batch_execute("BEGIN; INSERT INTO notes VALUES (1)").unwrap();
    drop(client);
    let mut client = db.client().unwrap();
    let second = pid(&mut client);
    assert_ne!(second, first, "not the connection left in a transaction");
    // The INSERT's lock goes with its transaction: the table can be locked once that has ended.
    client.batch_execute("BEGIN; SET LOCAL lock_timeout = '10s'; LOCK TABLE notes; COMMIT").unwrap();
    assert_eq!(client.query_one("SELECT count(*) FROM notes", &[]).unwrap().get::<_, i64>(0), 0, "rolled back");
    drop(client);

    let mut client = db.client().unwrap();
    assert_eq!(pid(&mut client), second, "a connection handed back clean is reused");
    let _ = client.batch_execute("SELECT pg_terminate_backend(pg_backend_pid())");
    drop(client);
    assert_ne!(pid(&mut db.client().unwrap()), second, "not the connection whose session ended");
}
