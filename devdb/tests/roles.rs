//! Template and scratch databases work for a role that is not a superuser (CREATEDB, owning its
//! database), with a role the test creates.

use std::path::Path;

use devdb::{role_server, Schema};
use migrator::migrations::MigrationSet;

#[test]
fn a_role_with_createdb_builds_templates_clones_them_and_dumps_schemas() {
    let role = role_server().test_role().unwrap();
    let server = role.server();
    let set = MigrationSet::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../test_data/chains/sdm/migrations"))
        .unwrap();
    let template = server.template_for(&set).unwrap();
    let db = server.test_database(Some(&set)).unwrap();
    let mut client = db.connect();
    let applied: i64 =
        client.query_one(&format!("SELECT count(*) FROM {}", migrator::migrate::HISTORY_TABLE), &[]).unwrap().get(0);
    assert_eq!(applied as usize, set.files.len());
    let schema = Schema::dump(&server, db.name(), &["users_account"]).unwrap();
    assert!(schema.text().contains("CREATE TABLE public.users_account"), "{}", schema.text());
    drop(client);
    drop(db);
    // The role's template goes with the role (it owns it); a scratch database too.
    let scratch = server.scratch_database("role").unwrap();
    assert!(scratch.name().ends_with("_role"));
    drop(scratch);
    drop(server);
    let name = role.name().to_string();
    drop(role);
    let mut admin = role_server().connect().unwrap();
    let left: i64 = admin
        .query_one("SELECT count(*) FROM pg_database WHERE datname = $1 OR datname = $2", &[&name, &template])
        .unwrap()
        .get(0);
    let roles: i64 = admin.query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[&name]).unwrap().get(0);
    assert_eq!((left, roles), (0, 0), "the role and what it owns were dropped");
}
