//! What a schema dump carries besides tables, and the proof compares: row-level security and
//! its policies, grants on tables, columns and functions, default privileges, comments and
//! publications. Grants need their roles: the generated file says so, and stops without them.
//! The roles are made for the tests, so these run on [`role_server`], where that is allowed.

use devdb::role_server;
use migrator::migrations::MigrationSet;

use super::{paths, Tree};
use crate::Outcome;

/// Creates the cluster-wide roles a test's chain grants to, unless they exist.
fn ensure_roles(roles: &[&str]) {
    let db = role_server().scratch_database("roles").unwrap();
    let mut client = db.connect();
    for role in roles {
        let sql = format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role}; END IF; END $$"
        );
        // Another test process may create it at the same moment: what matters is that it exists.
        let created = client.batch_execute(&sql);
        let exists: bool =
            client.query_one("SELECT count(*) = 1 FROM pg_roles WHERE rolname = $1", &[role]).unwrap().get(0);
        assert!(exists, "role {role} could not be created: {:?}", created.map_err(|e| migrator::db::report(&e)));
    }
}

#[test]
fn carries_policies_grants_default_privileges_comments_and_publications() {
    ensure_roles(&["sdm_squash_reader", "sdm_squash_writer"]);
    let tree = Tree::new(&[
        (
            "users/V1__users_accounts.sql",
            "CREATE TABLE users_account (id serial PRIMARY KEY, owner text NOT NULL DEFAULT current_user, email text);
ALTER TABLE users_account ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_account_own ON users_account USING (owner = current_user);
COMMENT ON POLICY users_account_own ON users_account IS 'everyone sees their own account';
GRANT SELECT ON users_account TO sdm_squash_reader;
CREATE FUNCTION users_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM users_account $$;
REVOKE ALL ON FUNCTION users_count() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION users_count() TO sdm_squash_writer;\n",
        ),
        (
            "evidence/V2__evidence_documents.sql",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO sdm_squash_reader;
CREATE TABLE evidence_document (id serial PRIMARY KEY, owner_id integer REFERENCES users_account(id), title text);
COMMENT ON COLUMN evidence_document.title IS 'as the owner typed it';
CREATE PUBLICATION evidence_changes FOR TABLE evidence_document;\n",
        ),
        (
            "users/V3__users_lock_down.sql",
            "ALTER TABLE users_account FORCE ROW LEVEL SECURITY;
GRANT UPDATE (email) ON users_account TO sdm_squash_writer;
INSERT INTO users_account (owner, email) VALUES ('someone', 'a@example.com');\n",
        ),
    ]);
    let report = tree.squash_on(role_server());
    assert_eq!(paths(&report), ["users/users_initial.sql", "evidence/evidence_initial.sql", "users/users_data.sql"]);
    let users = tree.read_named("users/users_initial.sql");
    for needle in [
        "-- Needs roles sdm_squash_reader, sdm_squash_writer, which its grants name",
        "RAISE EXCEPTION 'roles this migration grants privileges to are missing: %'",
        "ALTER TABLE public.users_account ENABLE ROW LEVEL SECURITY;",
        "ALTER TABLE ONLY public.users_account FORCE ROW LEVEL SECURITY;",
        "CREATE POLICY users_account_own ON public.users_account USING ((owner = CURRENT_USER));",
        "COMMENT ON POLICY users_account_own ON public.users_account IS 'everyone sees their own account';",
        "GRANT SELECT ON TABLE public.users_account TO sdm_squash_reader;",
        "GRANT UPDATE(email) ON TABLE public.users_account TO sdm_squash_writer;",
        "REVOKE ALL ON FUNCTION public.users_count() FROM PUBLIC;",
    ] {
        assert!(users.contains(needle), "users initial lacks {needle:?}:\n{users}");
    }
    let evidence = tree.read_named("evidence/evidence_initial.sql");
    for needle in [
        "-- Needs role sdm_squash_reader, which its grants name",
        "CREATE PUBLICATION evidence_changes WITH (publish = 'insert, update, delete, truncate');",
        "ALTER PUBLICATION evidence_changes ADD TABLE ONLY public.evidence_document;",
        "COMMENT ON COLUMN public.evidence_document.title IS 'as the owner typed it';",
        // The role that ran the chain is whichever runs the migrations: no `FOR ROLE`.
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO sdm_squash_reader;",
    ] {
        assert!(evidence.contains(needle), "evidence initial lacks {needle:?}:\n{evidence}");
    }
    let data = tree.read_named("users/users_data.sql");
    assert!(data.contains("ALTER TABLE public.users_account NO FORCE ROW LEVEL SECURITY;"), "{data}");
    assert_eq!(tree.check_on(role_server()).outcome, Outcome::Unchanged);
}

#[test]
fn a_missing_role_stops_the_generated_migration_by_name() {
    let role = format!("sdm_squash_gone_{}", std::process::id());
    ensure_roles(&[&role]);
    let tree = Tree::new(&[(
        "users/V1__users_accounts.sql",
        &format!("CREATE TABLE users_account (id integer PRIMARY KEY);\nGRANT SELECT ON users_account TO {role};\n"),
    )]);
    tree.write("users/V2__users_email.sql", "ALTER TABLE users_account ADD COLUMN email text;\n");
    let report = tree.squash_on(role_server());
    let initial = report.after[0].path.file_stem().unwrap().to_string_lossy().into_owned();
    let db = role_server().scratch_database("no_role").unwrap();
    db.connect().batch_execute(&format!("DROP ROLE {role}")).unwrap();
    let error =
        migrator::migrate::migrate(&mut db.connect(), &MigrationSet::from_dir(&tree.dir()).unwrap()).unwrap_err();
    let error = migrator::db::with_sources(&error);
    assert!(error.contains(&initial) && error.contains(&role) && error.contains("missing"), "{error}");
}
