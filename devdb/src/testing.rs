//! The server and databases shared by the tests of one process.
//!
//! The server starts on first use and stops when the process exits (it lives in a static, so the
//! exit hook of [`lifetime`](crate::lifetime) stops it). Each test takes its own database, and
//! its own role when it needs one.

use std::sync::OnceLock;

use app::migrations::MigrationSet;

use crate::{Server, TestDatabase};

/// Returns the server shared by every test in this process: `DATABASE_URL`'s, or the ephemeral
/// cluster. Panics with the reason when there is none, as tests want.
pub fn test_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        Server::from_env().unwrap_or_else(|e| panic!("test database server: {}", app::db::with_sources(&e)))
    })
}

/// Returns a server on which tests may create roles ([`Server::test_role`]): the test server when
/// its role may create roles, else the ephemeral cluster (when `DATABASE_URL` names a role that
/// may not, as the roles these tests make).
pub fn role_server() -> &'static Server {
    static EPHEMERAL: OnceLock<Server> = OnceLock::new();
    static MAY_CREATE_ROLES: OnceLock<bool> = OnceLock::new();
    let server = test_server();
    let may_create_roles = MAY_CREATE_ROLES.get_or_init(|| {
        let sql = "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user";
        let mut client = server.connect().unwrap_or_else(|e| panic!("test server: {}", app::db::with_sources(&e)));
        client.query_one(sql, &[]).map(|row| row.get::<_, bool>(0)).unwrap_or(false)
    });
    if *may_create_roles {
        return server;
    }
    EPHEMERAL.get_or_init(|| {
        Server::ephemeral()
            .unwrap_or_else(|e| panic!("a server to create test roles on: {}", app::db::with_sources(&e)))
    })
}

/// Returns a fresh database migrated with the embedded migrations, cloned from a template.
pub fn test_database() -> TestDatabase<'static> {
    static SET: OnceLock<MigrationSet> = OnceLock::new();
    let set = SET.get_or_init(|| MigrationSet::embedded().unwrap_or_else(|e| panic!("embedded migrations: {e}")));
    test_server().test_database(Some(set)).unwrap_or_else(|e| panic!("test database: {}", app::db::with_sources(&e)))
}

/// Returns a fresh, empty database (no migrations applied).
pub fn empty_database() -> TestDatabase<'static> {
    test_server().test_database(None).unwrap_or_else(|e| panic!("test database: {}", app::db::with_sources(&e)))
}
