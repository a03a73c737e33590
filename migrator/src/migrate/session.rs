//! Starts every migration from the same session: what one migration set for the rest of its
//! connection (`SET` without `LOCAL`, `set_config(..., false)` as pg_dump writes it, `SET ROLE`,
//! `SET SESSION AUTHORIZATION`, a cursor, a `LISTEN`, a temporary table) is undone before the next.
//!
//! The runner also keeps two small temporary sequences, `pg_temp.sdm_migration_progress` and
//! `pg_temp.sdm_migration_role`, that marks between a migration's statements advance. A sequence
//! is not rolled back with the transaction, so after a failure they tell which statement failed
//! and as which role, without running anything of the migration again.
//!
//! Between two migrations the sequences are kept and set back to their start, as long as the
//! session's temporary schema holds nothing else and nothing changed them: the catalog says so
//! in one query (every object in a schema depends on it in `pg_depend`, and any `ALTER`, `GRANT`
//! or `REVOKE` on a sequence rewrites its catalog rows, so their `xmin` moves). Otherwise
//! `DISCARD TEMP` drops whatever the migration left and they are made again. Dropping and making
//! them for every migration cost more than most migrations' own work.

use postgres::{Client, SimpleQueryMessage};

use super::statements;
use crate::Result;

/// Restores what a fresh connection starts with, apart from temporary objects, then pins how
/// Postgres reads a file: the runner splits files with `standard_conforming_strings` on (`'\'`
/// is a backslash) and sends them as UTF-8.
///
/// `RESET ALL` leaves the role and the session authorization alone, hence the first two.
/// `ALTER DATABASE/ROLE ... SET` values are what a fresh connection starts with, so they stay.
const RESET: &str = "SET SESSION AUTHORIZATION DEFAULT; RESET ROLE; RESET ALL; CLOSE ALL; UNLISTEN *; \
     SET standard_conforming_strings = on; SET client_encoding = 'UTF8'";

/// Creates the progress sequences, which any role the migration switches to may advance: one
/// counts completed statements, the other holds the role the session was last seen as. Then
/// returns their OIDs and the `xmin` of their catalog rows, which any later change moves.
const CREATE_PROGRESS: &str = "CREATE TEMPORARY SEQUENCE sdm_migration_progress; \
     CREATE TEMPORARY SEQUENCE sdm_migration_role MINVALUE 0; \
     GRANT ALL ON SEQUENCE pg_temp.sdm_migration_progress, pg_temp.sdm_migration_role TO PUBLIC; \
     SELECT p.rel::oid, r.rel::oid, \
     (SELECT xmin FROM pg_catalog.pg_class WHERE oid = p.rel), \
     (SELECT xmin FROM pg_catalog.pg_sequence WHERE seqrelid = p.rel), \
     (SELECT xmin FROM pg_catalog.pg_class WHERE oid = r.rel), \
     (SELECT xmin FROM pg_catalog.pg_sequence WHERE seqrelid = r.rel) \
     FROM pg_catalog.to_regclass('pg_temp.sdm_migration_progress') p(rel), \
     pg_catalog.to_regclass('pg_temp.sdm_migration_role') r(rel)";

/// The progress sequences of a session, by OID: a mark names them by OID, so that no name
/// lookup (and no `search_path`) is paid for between every two statements.
#[derive(Clone, Copy, Debug)]
pub(super) struct Marks {
    progress: u32,
    role: u32,
    /// The `xmin` of the sequences' `pg_class` and `pg_sequence` rows when they were made.
    stamp: Stamp,
}

/// The `xmin` of the progress and the role sequence's `pg_class` and `pg_sequence` rows.
#[derive(Clone, Copy, Debug)]
struct Stamp([u32; 4]);

/// Resets the session of `client` to a fresh connection's state and readies the progress
/// sequences: `kept`, the ones the session had, when nothing but them is temporary and nothing
/// changed them, else new ones. Returns them, or `None` for a role without the TEMPORARY
/// privilege (a failure is then found by Postgres's position alone).
pub(super) fn reset(client: &mut Client, kept: Option<Marks>) -> Result<Option<Marks>> {
    if let Some(marks) = kept {
        let reused = client.simple_query(&format!("{RESET}; {}", marks.restart()))?;
        if reused.iter().any(|m| matches!(m, SimpleQueryMessage::Row(_))) {
            return Ok(Some(marks));
        }
    }
    clear(client)?;
    let Ok(created) = client.simple_query(CREATE_PROGRESS) else { return Ok(None) };
    let row = created.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => Some(row),
        _ => None,
    });
    Ok(row.and_then(|row| {
        let number = |i: usize| row.get(i)?.parse::<u32>().ok();
        let stamp = Stamp([number(2)?, number(3)?, number(4)?, number(5)?]);
        Some(Marks { progress: number(0)?, role: number(1)?, stamp })
    }))
}

/// Resets the session of `client` to a fresh connection's state, temporary objects included (the
/// progress sequences go too): what a run leaves behind.
pub(super) fn clear(client: &mut Client) -> Result<()> {
    client.batch_execute(&format!("{RESET}; DISCARD TEMP"))?;
    Ok(())
}

impl Marks {
    /// Returns marks naming sequences `progress` and `role`, for tests of the text sent.
    #[cfg(test)]
    pub(super) fn for_test(progress: u32, role: u32) -> Marks {
        Marks { progress, role, stamp: Stamp([0; 4]) }
    }

    /// Returns the statement that sets the sequences back to their start, returning a row only
    /// if the temporary schema holds them alone and they are as they were made.
    fn restart(&self) -> String {
        let Marks { progress, role, stamp: Stamp([progress_class, progress_sequence, role_class, role_sequence]) } =
            self;
        format!(
            "SELECT pg_catalog.setval({progress}::pg_catalog.regclass, 1, false), \
             pg_catalog.setval({role}::pg_catalog.regclass, 0, false) \
             WHERE (SELECT pg_catalog.count(*) FROM pg_catalog.pg_depend \
             WHERE refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass \
             AND refobjid = pg_catalog.pg_my_temp_schema()) = 2 \
             AND (SELECT xmin FROM pg_catalog.pg_class WHERE oid = {progress}) = '{progress_class}' \
             AND (SELECT xmin FROM pg_catalog.pg_sequence WHERE seqrelid = {progress}) = '{progress_sequence}' \
             AND (SELECT xmin FROM pg_catalog.pg_class WHERE oid = {role}) = '{role_class}' \
             AND (SELECT xmin FROM pg_catalog.pg_sequence WHERE seqrelid = {role}) = '{role_sequence}'"
        )
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

/// Whether `sql` may drop the progress sequences while it runs (`DISCARD TEMP`, or naming them):
/// a mark after that would fail, so such a file runs without marks.
pub(super) fn may_drop_marks(sql: &str) -> bool {
    statements::mentions(sql, "discard") || statements::mentions(sql, "sdm_migration_")
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
