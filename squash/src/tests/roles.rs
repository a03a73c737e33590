//! A squash (replay, generated files, proof, swap) run as a role that is not a superuser but
//! owns its database, with a role the test creates: it reads OID watermarks without
//! `pg_nextoid` and without `pg_user_mapping`, and writes what a superuser's squash writes.

use devdb::role_server;

use super::{small_chain, small_chain_before_and_after, Tree};
use crate::{provenance, squash_dir, Outcome};

#[test]
fn a_role_that_is_not_superuser_squashes_and_proves_like_a_superuser() {
    let (_, by_superuser) = small_chain_before_and_after();
    let role = role_server().test_role().unwrap();
    let server = role.server();
    let tree = Tree::new(&[]);
    small_chain(&tree);
    let report = squash_dir(&server, &tree.dir(), &tree.options()).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(report.outcome, Outcome::Written, "{}", report.summary());
    assert_eq!(tree.snapshot(), by_superuser, "the role's squash writes what a superuser's does");
    assert_eq!(tree.check_on(&server).outcome, Outcome::Unchanged);
}

#[test]
fn watermarks_need_no_superuser() {
    let role = role_server().test_role().unwrap();
    let server = role.server();
    let db = server.scratch_database("watermark").unwrap();
    let mut client = db.try_connect().unwrap();
    let nextoid = client.query_one("SELECT pg_nextoid('pg_class', 'oid', 'pg_class_oid_index')", &[]);
    assert!(nextoid.is_err(), "the role may not call pg_nextoid");
    let set = migrator::migrations::MigrationSet::from_dir(&super::test_chain().join("migrations")).unwrap();
    let provenance = provenance::replay(&mut client, &set).unwrap_or_else(|e| panic!("{e:#}"));
    let table: u32 = client.query_one("SELECT 'users_account'::regclass::oid", &[]).unwrap().get(0);
    assert_eq!(provenance.origin(table), Some(0), "users_account comes from the first migration");
}
