//! Starts every migration from the same session: what one migration set for the rest of its
//! connection (`SET` without `LOCAL`, `set_config(..., false)` as pg_dump writes it, `SET ROLE`,
//! `SET SESSION AUTHORIZATION`, a cursor, a `LISTEN`, a temporary table) is undone before the next.
//!
//! The runner also keeps two small temporary sequences, `pg_temp.sdm_migration_progress` and
//! `pg_temp.sdm_migration_role`, that marks between a migration's statements advance. A sequence
//! is not rolled back with the transaction, so after a failure they tell which statement failed
//! and as which role, without running anything of the migration again.

use postgres::Client;

use super::statements;
use crate::Result;

/// Restores what a fresh connection starts with, then pins how Postgres reads a file: the
/// runner splits files with `standard_conforming_strings` on (`'\'` is a backslash) and sends
/// them as UTF-8.
///
/// `RESET ALL` leaves the role and the session authorization alone, hence the first two.
/// `ALTER DATABASE/ROLE ... SET` values are what a fresh connection starts with, so they stay.
const RESET: &str = "SET SESSION AUTHORIZATION DEFAULT; RESET ROLE; RESET ALL; CLOSE ALL; UNLISTEN *; \
     DISCARD TEMP; SET standard_conforming_strings = on; SET client_encoding = 'UTF8'";

/// Creates the progress sequences, which any role the migration switches to may advance: one
/// counts completed statements, the other holds the role the session was last seen as.
const CREATE_PROGRESS: &str = "CREATE TEMPORARY SEQUENCE sdm_migration_progress; \
     CREATE TEMPORARY SEQUENCE sdm_migration_role MINVALUE 0; \
     GRANT ALL ON SEQUENCE pg_temp.sdm_migration_progress, pg_temp.sdm_migration_role TO PUBLIC";

/// The progress sequences of a session, by OID: a mark names them by OID, so that no name
/// lookup (and no `search_path`) is paid for between every two statements.
#[derive(Clone, Copy, Debug)]
pub(super) struct Marks {
    progress: u32,
    role: u32,
}

/// Resets the session of `client` to a fresh connection's state and prepares the progress
/// sequences; returns them, or `None` for a role without the TEMPORARY privilege (a failure is
/// then found by Postgres's position alone).
pub(super) fn reset(client: &mut Client) -> Result<Option<Marks>> {
    client.batch_execute(RESET)?;
    if client.batch_execute(CREATE_PROGRESS).is_err() {
        return Ok(None);
    }
    let row = client.query_one(
        "SELECT 'pg_temp.sdm_migration_progress'::regclass::oid, 'pg_temp.sdm_migration_role'::regclass::oid",
        &[],
    )?;
    Ok(Some(Marks { progress: row.get(0), role: row.get(1) }))
}

impl Marks {
    /// Returns marks naming sequences `progress` and `role`, for tests of the text sent.
    #[cfg(test)]
    pub(super) fn for_test(progress: u32, role: u32) -> Marks {
        Marks { progress, role }
    }

    /// Returns the statement that counts one more completed statement.
    pub(super) fn statement_done(&self) -> String {
        format!("SELECT pg_catalog.nextval({}::regclass)", self.progress)
    }

    /// Returns the statement that records the role the session is now.
    pub(super) fn role_now(&self) -> String {
        format!(
            "SELECT pg_catalog.setval({}::regclass, pg_catalog.to_regrole(pg_catalog.quote_ident(CURRENT_USER))::oid::int8)",
            self.role
        )
    }

    /// Reads how far the last migration got (outside its transaction, which has ended).
    pub(super) fn progress(&self, client: &mut Client) -> Option<Progress> {
        let sql = "SELECT CASE WHEN p.is_called THEN p.last_value ELSE 0 END, \
                   (SELECT rolname::text FROM pg_catalog.pg_roles WHERE oid = r.last_value::oid) \
                   FROM pg_temp.sdm_migration_progress p, pg_temp.sdm_migration_role r";
        let row = client.query_one(sql, &[]).ok()?;
        Some(Progress { done: row.get::<_, i64>(0) as usize, role: row.get(1) })
    }
}

/// Whether `statement` may change the session's role (`SET ROLE`, `SET SESSION AUTHORIZATION`,
/// `RESET ROLE`, `set_config('role', ...)`): after those the runner records the role again.
pub(super) fn may_change_role(statement: &str) -> bool {
    statements::mentions(statement, "role") || statements::mentions(statement, "authorization")
}

/// How far a migration got: the statements it completed, and the role it was running as then.
pub(super) struct Progress {
    /// How many statements completed.
    pub done: usize,
    /// The role current after the last completed statement.
    pub role: Option<String>,
}
