//! The server and databases shared by the tests of one process.
//!
//! The server starts on first use and stops when the process exits (it lives in a static, so the
//! exit hook of [`lifetime`](crate::lifetime) stops it). Each test takes its own database.

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
