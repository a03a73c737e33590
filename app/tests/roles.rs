//! Every `sdm` command works for a role that is not a superuser but owns its database (what
//! managed Postgres and CI services hand out), and a missing privilege is named with its fix:
//! against a real Postgres 15, with roles the tests create.

use std::process::Command;

use app::migrate::{migrate, status, HISTORY_TABLE};
use app::migrations::MigrationSet;
use devdb::role_server;
use migrator::Error;

/// A one-migration chain in a temp folder, removed on drop.
struct Chain(tempfile::TempDir);

impl Chain {
    fn new(rel: &str, sql: &str) -> Chain {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(rel).parent().unwrap()).unwrap();
        std::fs::write(dir.path().join(rel), sql).unwrap();
        Chain(dir)
    }

    fn set(&self) -> MigrationSet {
        MigrationSet::from_dir(self.0.path()).unwrap_or_else(|e| panic!("{e}"))
    }
}

fn sdm(url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sdm")).args(args).env("DATABASE_URL", url).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn a_role_that_owns_its_database_migrates_and_uses_it() {
    let role = role_server().test_role().unwrap();
    let url = role.url();
    let mut client = app::db::connect(&url).unwrap();
    let superuser: bool =
        client.query_one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", &[]).unwrap().get(0);
    assert!(!superuser, "the test runs as a role that is not a superuser");

    for args in [
        &["migrate"][..],
        &["showmigrations"],
        &["journey", "list"],
        &["user", "create", "--email", "role@example.org"],
        &["onboard", "--email", "role@example.org", "--journey", "knee-osteoarthritis-treatment"],
        &["chat", "--conversation", "1", "Stairs are the hardest part for me"],
        &["points", "--conversation", "1"],
        &["user", "delete", "--email", "role@example.org"],
    ] {
        let (ok, text) = sdm(&url, args);
        assert!(ok, "sdm {args:?} as {}: {text}", role.name());
    }
    let set = app::migrations::embedded().unwrap();
    assert!(status(&mut client, &set).unwrap().iter().all(|s| s.applied_on.is_some()));
    assert_eq!(migrate(&mut client, &set).unwrap(), vec![]);
}

#[test]
fn a_database_the_role_does_not_own_names_the_privilege_and_the_fix() {
    let server = role_server();
    let role = server.test_role().unwrap();
    // Owned by the server's administrator, as a database made for the team by someone else.
    let foreign = server.scratch_database("foreign").unwrap();
    let url = role.url_for(foreign.name());
    let dir = Chain::new("users/V1__users_accounts.sql", "CREATE TABLE users_account (id int);\n");

    let mut client = app::db::connect(&url).unwrap();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    assert!(matches!(error, Error::Privilege { .. }), "{error}");
    let shown = format!("{:#}", anyhow::Error::from(error));
    eprintln!("{shown}");
    let (name, db) = (role.name(), foreign.name());
    assert_eq!(
        shown,
        format!(
            "create the history table refinery_schema_history: ERROR 42501: permission denied for schema public; \
             role {name} has no CREATE privilege on schema public of database {db} (Postgres 15 and later give it \
             only to the database owner, here {owner}). As {owner} or a superuser, run `GRANT CREATE ON SCHEMA \
             public TO {name};` or `ALTER DATABASE {db} OWNER TO {name};`, then migrate again",
            owner = owner(&mut client)
        )
    );
    let (ok, text) = sdm(&url, &["migrate"]);
    assert!(!ok && text.matches("permission denied for schema public").count() == 1, "the cause once: {text}");

    // With the history table made by the owner, the migration itself is refused, and named.
    let mut admin = foreign.connect();
    admin
        .batch_execute(&format!(
            "CREATE TABLE refinery_schema_history (version int4 PRIMARY KEY, name varchar(255), \
             applied_on varchar(255), checksum varchar(255)); GRANT SELECT, INSERT ON refinery_schema_history TO {name}"
        ))
        .unwrap();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { name: label, line, message, .. } = &error else { panic!("{error}") };
    assert_eq!((label.as_str(), *line), ("V1__users_accounts", 1), "{message}");
    assert!(
        message.contains("42501")
            && message.contains(&format!(
                "The role {name} lacks the CREATE privilege on schema public: as its owner or a superuser, run \
                 `GRANT CREATE ON SCHEMA public TO {name};`"
            )),
        "{message}"
    );
    assert!(message.ends_with("migrate again once that is done."), "the file is not to blame: {message}");
    eprintln!("{error}");

    // The grant the message names is the fix.
    admin.batch_execute(&format!("GRANT CREATE ON SCHEMA public TO {name}")).unwrap();
    assert_eq!(migrate(&mut client, &dir.set()).unwrap().len(), 1);
    let recorded: Vec<(i32, String)> = client
        .query(&format!("SELECT version, name FROM {HISTORY_TABLE}"), &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(recorded, vec![(1, "users_accounts".to_string())]);
    drop(client);
    drop(admin);
    drop(foreign);
}

fn owner(client: &mut postgres::Client) -> String {
    let sql = "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = current_database()";
    client.query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn what_only_a_superuser_may_do_is_named_as_such() {
    let role = role_server().test_role().unwrap();
    let dir = Chain::new("users/V1__users_remote.sql", "CREATE EXTENSION IF NOT EXISTS postgres_fdw;\n");
    let mut client = app::db::connect(&role.url()).unwrap();
    let error = migrate(&mut client, &dir.set()).unwrap_err();
    let Error::MigrationFailed { name: label, message, .. } = &error else { panic!("{error}") };
    assert_eq!(label, "V1__users_remote", "{message}");
    for needle in [
        r#"permission denied to create extension "postgres_fdw""#,
        &format!("Only a superuser may do this, and the role {} is not one: no grant gives it", role.name()),
        "`CREATE EXTENSION IF NOT EXISTS postgres_fdw;`",
        "migrate again once that is done.",
    ] {
        assert!(message.contains(needle), "{needle:?} in: {message}");
    }
    assert!(!message.contains("GRANT"), "no grant helps: {message}");
}
