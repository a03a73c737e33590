//! The server and databases shared by the tests of one process.
//!
//! The server starts on first use and stops when the process exits (it lives in a static, so the
//! exit hook of [`lifetime`](crate::lifetime) stops it). Each test takes its own database, and
//! its own role when it needs one.

use std::sync::OnceLock;

use migrator::migrations::MigrationSet;

use crate::{Server, TestDatabase};

/// Returns the server shared by every test in this process: `DATABASE_URL`'s, or the tests'
/// ephemeral cluster (in memory when the machine has room, see [`crate::test_cluster_dir`]).
/// Panics with the reason when there is none, as tests want.
pub fn test_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        Server::for_tests().unwrap_or_else(|e| panic!("test database server: {}", migrator::db::with_sources(&e)))
    })
}

/// What the test server's role may do beyond its own databases, asked once.
#[derive(Clone, Copy)]
struct Powers {
    superuser: bool,
    create_roles: bool,
}

fn powers() -> Powers {
    static POWERS: OnceLock<Powers> = OnceLock::new();
    *POWERS.get_or_init(|| {
        let sql = "SELECT rolsuper, rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user";
        let mut client =
            test_server().connect().unwrap_or_else(|e| panic!("test server: {}", migrator::db::with_sources(&e)));
        let row = client
            .query_one(sql, &[])
            .unwrap_or_else(|e| panic!("ask the test server what its role may do: {}", migrator::db::with_sources(&e)));
        Powers { superuser: row.get(0), create_roles: row.get(1) }
    })
}

/// Returns the ephemeral cluster, started on first use, for tests whose need the test server's
/// role cannot meet; `need` says what for, in the panic when it cannot start.
fn ephemeral(need: &str) -> &'static Server {
    static EPHEMERAL: OnceLock<Server> = OnceLock::new();
    if test_server().is_ephemeral() {
        return test_server();
    }
    EPHEMERAL.get_or_init(|| {
        Server::ephemeral_for_tests()
            .unwrap_or_else(|e| panic!("the ephemeral cluster, a server {need}: {}", migrator::db::with_sources(&e)))
    })
}

/// Returns a server on which tests may create roles ([`Server::test_role`]): the test server when
/// its role may create roles, else the ephemeral cluster (when `DATABASE_URL` names a role that
/// may not, as the roles these tests make).
pub fn role_server() -> &'static Server {
    if powers().create_roles {
        return test_server();
    }
    ephemeral("to create roles on, as DATABASE_URL's role may not")
}

/// Returns a server on which tests connect as a superuser, for what no grant allows (untrusted
/// extensions such as `postgres_fdw`, event triggers): the test server when its role is a
/// superuser, else the ephemeral cluster, whose role always is.
pub fn superuser_server() -> &'static Server {
    if powers().superuser {
        return test_server();
    }
    ephemeral("with a superuser, as DATABASE_URL's role is not one")
}

/// Returns a fresh database migrated with the workspace's `migrations/` folder (what the product
/// compiles in), cloned from a template. The folder is read from disk, so devdb needs no product.
pub fn test_database() -> TestDatabase<'static> {
    static SET: OnceLock<MigrationSet> = OnceLock::new();
    let set = SET.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
        MigrationSet::from_dir(&dir).unwrap_or_else(|e| panic!("the workspace's migrations: {e}"))
    });
    test_server()
        .test_database(Some(set))
        .unwrap_or_else(|e| panic!("test database: {}", migrator::db::with_sources(&e)))
}

/// Returns a fresh, empty database (no migrations applied).
pub fn empty_database() -> TestDatabase<'static> {
    test_server().test_database(None).unwrap_or_else(|e| panic!("test database: {}", migrator::db::with_sources(&e)))
}

/// Returns the tests' ephemeral cluster of Postgres `major` ([`crate::test_cluster_dir`]),
/// started on first use, for the tests that compare majors. Panics with how to install the
/// binaries when the machine has none for `major`.
pub fn major_server(major: u32) -> &'static Server {
    static SERVERS: [OnceLock<Server>; crate::majors::SUPPORTED_MAJORS.len()] = [const { OnceLock::new() }; 5];
    let Some(slot) = crate::majors::SUPPORTED_MAJORS.iter().position(|m| *m == major) else {
        panic!("Postgres {major} is not a supported major: {:?}", crate::majors::SUPPORTED_MAJORS)
    };
    SERVERS[slot].get_or_init(|| {
        Server::ephemeral_major_for_tests(major)
            .unwrap_or_else(|e| panic!("the Postgres {major} cluster: {}", migrator::db::with_sources(&e)))
    })
}
