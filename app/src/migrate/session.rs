//! Starts every migration from the same session: what one migration set for the rest of its
//! connection (`SET` without `LOCAL`, `set_config(..., false)` as pg_dump writes it, `SET ROLE`,
//! `SET SESSION AUTHORIZATION`, a cursor, a `LISTEN`, a temporary table) is undone before the next.
//!
//! The runner also keeps a small temporary sequence, `pg_temp.sdm_migration_progress`, that a
//! migration's statements advance as they complete. A sequence is not rolled back with the
//! transaction, so after a failure it tells which statement failed and as which role, without
//! running anything of the migration again.

use postgres::Client;

use crate::Result;

/// Restores what a fresh connection starts with, then pins how Postgres reads a string: the
/// runner splits files with `standard_conforming_strings` on (`'\'` is a backslash).
///
/// `RESET ALL` leaves the role and the session authorization alone, hence the first two.
/// `ALTER DATABASE/ROLE ... SET` values are what a fresh connection starts with, so they stay.
const RESET: &str = "SET SESSION AUTHORIZATION DEFAULT; RESET ROLE; RESET ALL; CLOSE ALL; UNLISTEN *; \
     DISCARD TEMP; SET standard_conforming_strings = on";

/// The progress sequence, schema-qualified so that no `search_path` hides it.
pub(super) const PROGRESS: &str = "pg_temp.sdm_migration_progress";

/// Creates the progress sequence; any role the migration switches to may advance it.
const CREATE_PROGRESS: &str = "CREATE TEMPORARY SEQUENCE sdm_migration_progress MINVALUE 0 START 0; \
     GRANT ALL ON SEQUENCE pg_temp.sdm_migration_progress TO PUBLIC";

/// Resets the session of `client` to a fresh connection's state and prepares the progress
/// sequence; returns whether it is there (a role without the TEMPORARY privilege gets none, and
/// a failure is then found by Postgres's position alone).
pub(super) fn reset(client: &mut Client) -> Result<bool> {
    client.batch_execute(RESET)?;
    Ok(client.batch_execute(CREATE_PROGRESS).is_ok())
}

/// Returns the statement that records that `done` statements have completed, and the role the
/// session is now (the role's oid in the low 32 bits, `done` above them).
pub(super) fn mark(done: usize) -> String {
    format!(
        "SELECT pg_catalog.setval('{PROGRESS}', ({done}::int8 << 32) | \
         (SELECT r.oid::int8 FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER))"
    )
}

/// How far a migration got: the statements it completed, and the role it was running as then.
pub(super) struct Progress {
    /// How many statements completed.
    pub done: usize,
    /// The role current after the last completed statement.
    pub role: Option<String>,
}

/// Reads how far the last migration got (outside its transaction, which has ended).
pub(super) fn progress(client: &mut Client) -> Option<Progress> {
    let value: i64 = client.query_one(&format!("SELECT last_value FROM {PROGRESS}"), &[]).ok()?.get(0);
    let role_oid = (value & 0xffff_ffff) as u32;
    let role = client
        .query_opt("SELECT rolname::text FROM pg_catalog.pg_roles WHERE oid = $1", &[&role_oid])
        .ok()
        .flatten()
        .map(|row| row.get(0));
    Some(Progress { done: (value >> 32) as usize, role })
}
