//! Lets a `-- no-transaction` file that stopped at a failing statement resume there: the
//! statements before it have committed, and running them again is what such a file must
//! otherwise be written to survive.
//!
//! Progress is kept in a small table of the runner's own next to the history table,
//! `sdm_no_transaction_progress` (version, checksum, statements done), which exists only while a
//! file is half-done: it is created when one stops and dropped when the last one finishes, so a
//! database whose migrations all completed has no trace of it (`sdm check` and a squash's proof
//! compare schemas). A file changed since it stopped runs from its first statement.

use postgres::Client;

use crate::migrations::MigrationFile;

/// The progress table's name, in the history table's schema.
const TABLE: &str = "sdm_no_transaction_progress";

/// Returns the progress table's schema-qualified name, next to `history` (schema-qualified).
pub(super) fn table(history: &str) -> String {
    match history.rsplit_once('.') {
        Some((schema, _)) => format!("{schema}.{TABLE}"),
        None => TABLE.to_string(),
    }
}

/// Returns how many statements of `file` an earlier run completed, if it stopped part-way and
/// the file is unchanged since (`None` when there is no progress table at all).
pub(super) fn done(client: &mut Client, table: &str, file: &MigrationFile) -> Option<usize> {
    let exists: bool = client.query_one("SELECT pg_catalog.to_regclass($1) IS NOT NULL", &[&table]).ok()?.get(0);
    if !exists {
        return None;
    }
    let sql = format!("SELECT done FROM {table} WHERE version = $1 AND checksum = $2");
    let row = client.query_opt(&sql, &[&file.version, &file.checksum().to_string()]).ok()?;
    Some(row.map_or(0, |r| r.get::<_, i32>(0) as usize))
}

/// Records that the first `done` statements of `file` completed; says whether it could.
pub(super) fn record(client: &mut Client, table: &str, file: &MigrationFile, done: usize) -> bool {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {table} (version int4 PRIMARY KEY, checksum varchar(255) NOT NULL, \
         done int4 NOT NULL, stopped_on timestamptz NOT NULL DEFAULT pg_catalog.now());
         INSERT INTO {table} (version, checksum, done) VALUES ({}, '{}', {done}) \
         ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum, done = EXCLUDED.done, \
         stopped_on = EXCLUDED.stopped_on",
        file.version,
        file.checksum()
    );
    client.batch_execute(&sql).is_ok()
}

/// Returns the statements that forget `file`'s progress, dropping the table when no other file
/// is half-done; they run in the transaction that records the file as applied.
pub(super) fn forget_sql(table: &str, file: &MigrationFile) -> String {
    format!(
        "DELETE FROM {table} WHERE version = {};\n\
         DO $sdm$ BEGIN IF NOT EXISTS (SELECT FROM {table}) THEN DROP TABLE {table}; END IF; END $sdm$",
        file.version
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_progress_next_to_the_history() {
        assert_eq!(table("public.refinery_schema_history"), "public.sdm_no_transaction_progress");
        assert_eq!(table("\"my app\".refinery_schema_history"), "\"my app\".sdm_no_transaction_progress");
    }
}
