//! refinery's history table, `refinery_schema_history`: its DDL, its rows, and the check that
//! what a database applied still matches the migration files.
//!
//! The table and its rows stay exactly refinery's, so either runner can take over a database the
//! other migrated.

use postgres::error::SqlState;
use postgres::{Client, GenericClient};

use crate::migrations::{MigrationFile, MigrationSet, SquashRecord};
use crate::{Error, Result};

/// Names refinery's history table, one row per applied migration.
pub const HISTORY_TABLE: &str = "refinery_schema_history";

/// Returns refinery 0.10's exact DDL for its history table (with 32-bit versions).
fn create_table_sql() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {HISTORY_TABLE}(
             version int4 PRIMARY KEY,
             name VARCHAR(255),
             applied_on VARCHAR(255),
             checksum VARCHAR(255));"
    )
}

/// Finds every history table of the database, whatever the search path: its schema-qualified
/// name, and whether the session's search path finds it (those first).
const FIND: &str = "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), \
     c.oid IS NOT DISTINCT FROM pg_catalog.to_regclass(pg_catalog.quote_ident($1)) \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_(temp|toast)' \
     ORDER BY 2 DESC, 1";

/// Returns the history table's schema-qualified name, wherever it is (refinery creates it in the
/// first schema of the search path of its day), or `None` when the database has none.
///
/// A search path a migration, the database or the role sets later (`ALTER DATABASE ... SET
/// search_path`) must not hide it, or the next run would apply everything again. Of several,
/// the one the search path finds is the database's; several that it does not find are refused.
pub fn locate(client: &mut impl GenericClient) -> Result<Option<String>> {
    let rows = client.query(FIND, &[&HISTORY_TABLE])?;
    match rows.as_slice() {
        [] => Ok(None),
        [only] => Ok(Some(only.get(0))),
        [first, ..] if first.get::<_, bool>(1) => Ok(Some(first.get(0))),
        several => Err(Error::Invalid(format!(
            "this database has {} history tables ({}) and the search path finds none of them, so the runner \
             cannot tell which one records this database's migrations: drop the ones that do not, or set \
             search_path to the schema of the one that does",
            several.len(),
            several.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// One row of the history table.
pub(super) struct HistoryRow {
    /// The migration's version.
    pub version: i32,
    /// The migration's name, as recorded.
    pub name: String,
    /// When it was applied, as refinery's RFC 3339 text.
    pub applied_on: String,
    /// refinery's checksum, as decimal text.
    pub checksum: Option<String>,
}

impl HistoryRow {
    /// Returns the label the database recorded, e.g. `V1__users_initial`.
    pub fn label(&self) -> String {
        format!("V{}__{}", self.version, self.name)
    }

    /// Whether the row records exactly `file`: same version, name and checksum.
    pub fn is(&self, file: &MigrationFile) -> bool {
        self.version == file.version
            && self.name == file.name
            && self.checksum.as_deref() == Some(file.checksum().to_string().as_str())
    }
}

/// Creates the history table if it is missing; returns its schema-qualified name.
///
/// A role that may not create it (on Postgres 15 and later only the database owner may create
/// tables in `public`) gets [`Error::Privilege`], naming the role, the schema and the fix.
pub(super) fn create(client: &mut Client) -> Result<String> {
    // CREATE TABLE IF NOT EXISTS needs CREATE on the schema even when the table exists.
    if let Some(table) = locate(client)? {
        return Ok(table);
    }
    if let Err(error) = client.batch_execute(&create_table_sql()) {
        return Err(match error.code() {
            Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE || *code == SqlState::INVALID_SCHEMA_NAME => {
                privilege_error(client, &error)
            }
            _ => Error::Db(error),
        });
    }
    locate(client)?
        .ok_or_else(|| Error::Invalid(format!("the history table {HISTORY_TABLE} was created but not found")))
}

/// Who the session is, where it creates tables, and who owns the database.
const WHO_AND_WHERE: &str = "SELECT current_user::text, (pg_catalog.current_schemas(false))[1]::text, \
     current_database()::text, pg_catalog.pg_get_userbyid(d.datdba)::text \
     FROM pg_catalog.pg_database d WHERE d.datname = current_database()";

/// Explains why the history table could not be created, with the statements that fix it.
fn privilege_error(client: &mut Client, error: &postgres::Error) -> Error {
    let step = format!("create the history table {HISTORY_TABLE}");
    let report = crate::db::report(error);
    let Ok(row) = client.query_one(WHO_AND_WHERE, &[]) else {
        return Error::Privilege { step, message: report };
    };
    let (role, schema, database, owner): (String, Option<String>, String, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let message = match schema {
        Some(schema) => format!(
            "{report}; role {role} has no CREATE privilege on schema {schema} of database {database} (Postgres 15 \
             and later give it only to the database owner, here {owner}). As {owner} or a superuser, run \
             `GRANT CREATE ON SCHEMA {schema} TO {role};` or `ALTER DATABASE {database} OWNER TO {role};`, then \
             migrate again"
        ),
        None => format!(
            "{report}; the search path of role {role} names no schema that exists in database {database}: \
             create one (`CREATE SCHEMA {role};` as {owner}) or set search_path"
        ),
    };
    Error::Privilege { step, message }
}

/// Returns the statement that records `file` in `table` (schema-qualified, from [`create`]).
///
/// `applied_on` is RFC 3339 in UTC, which refinery's parser requires. The values are inlined
/// so the row goes in the same round trip as the migration; everything is qualified because the
/// migration may have changed `search_path` (SET LOCAL).
pub(super) fn insert_sql(table: &str, file: &MigrationFile) -> Result<String> {
    insert_row_sql(table, file.version, &file.name, &file.checksum().to_string())
        .map_err(|message| Error::MigrationFile { path: file.path.clone(), message })
}

/// Returns the statement that records migration `V{version}__{name}` with `checksum` in `table`,
/// or what is wrong with the name or checksum.
pub(super) fn insert_row_sql(table: &str, version: i32, name: &str, checksum: &str) -> Result<String, String> {
    // Name and checksum are inlined as literals: only characters that need no quoting get that far.
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("migration name `{name}` may hold only letters, digits and underscores"));
    }
    if checksum.is_empty() || !checksum.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("checksum `{checksum}` of V{version}__{name} is not a decimal number"));
    }
    Ok(format!(
        "INSERT INTO {table} (version, name, applied_on, checksum) VALUES ({version}, '{name}', \
         pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '{checksum}')"
    ))
}

/// Returns what the database has applied, oldest first (no rows when there is no history table).
pub(super) fn read(client: &mut impl GenericClient) -> Result<Vec<HistoryRow>> {
    let Some(table) = locate(client)? else { return Ok(Vec::new()) };
    let rows =
        client.query(&format!("SELECT version, name, applied_on, checksum FROM {table} ORDER BY version"), &[])?;
    Ok(rows
        .iter()
        .map(|row| HistoryRow {
            version: row.get(0),
            name: row.get::<_, Option<String>>(1).unwrap_or_default(),
            applied_on: row.get::<_, Option<String>>(2).unwrap_or_default(),
            checksum: row.get(3),
        })
        .collect())
}

/// Fails when applied migrations no longer match their files, or a file would run out of order.
pub(super) fn check(history: &[HistoryRow], set: &MigrationSet) -> Result<()> {
    // A database refinery migrated may hold version i32::MAX, which has no version after it.
    let next_free = set
        .files
        .iter()
        .map(|f| f.version)
        .chain(history.iter().map(|h| h.version))
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    for row in history {
        let Some(file) = set.get(row.version) else {
            return Err(Error::MigrationMissing {
                label: row.label(),
                version: row.version,
                applied_on: row.applied_on.clone(),
            });
        };
        let checksum = file.checksum();
        let recorded = row.checksum.as_deref().unwrap_or("");
        if file.name != row.name || recorded != checksum.to_string() {
            return Err(Error::MigrationChanged {
                label: row.label(),
                recorded_checksum: recorded.to_string(),
                applied_on: row.applied_on.clone(),
                path: file.path.clone(),
                checksum,
                next_free,
            });
        }
    }
    if let Some(last) = history.last() {
        let applied = |v: i32| history.iter().any(|h| h.version == v);
        if let Some(file) = set.files.iter().find(|f| f.version < last.version && !applied(f.version)) {
            return Err(Error::OutOfOrder {
                label: file.label(),
                path: file.path.clone(),
                last_applied: last.label(),
                next_free,
            });
        }
    }
    Ok(())
}

/// Starts the comment a history table carries once its database followed a squash: refinery
/// reads none of it, and a checkout from before the squash is told apart by it.
const FOLLOWED: &str = "sdm: followed squash ";

/// Comments the history table `table` (in the follow's transaction): the database followed
/// `record`, at the server's time. A role that does not own the table leaves it without one.
pub(super) fn mark_followed(client: &mut impl GenericClient, table: &str, record: &SquashRecord) -> Result<()> {
    let said = format!("{FOLLOWED}{} ({}) on ", record.squash, record.path.display());
    client.batch_execute(&format!(
        "DO $sdm$ BEGIN
           EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', {table},
             {said} || pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC');
         EXCEPTION WHEN insufficient_privilege THEN NULL;
         END $sdm$",
        table = crate::sql::quote_literal(table),
        said = crate::sql::quote_literal(&said),
    ))?;
    Ok(())
}

/// Returns the squash the database says it followed (number, and `(record) on <when>`).
fn followed(client: &mut impl GenericClient) -> Result<Option<(u32, String)>> {
    let Some(table) = locate(client)? else { return Ok(None) };
    let sql = "SELECT pg_catalog.obj_description(pg_catalog.to_regclass($1), 'pg_class')";
    let comment: Option<String> = client.query_one(sql, &[&table])?.get(0);
    Ok(comment.and_then(|c| {
        let (number, rest) = c.strip_prefix(FOLLOWED)?.split_once(' ')?;
        Some((number.parse().ok()?, rest.to_string()))
    }))
}

/// Turns `error`, a history the files do not match, into what it is when the checkout is older
/// than the database: a squash the database followed and the checkout lacks, or migrations newer
/// than every file. Any other error comes back as it is.
pub(super) fn explain_behind(
    client: &mut impl GenericClient,
    history: &[HistoryRow],
    set: &MigrationSet,
    error: Error,
) -> Error {
    if !matches!(error, Error::MigrationChanged { .. } | Error::MigrationMissing { .. }) {
        return error;
    }
    let reset = "or, for a development database, drop it and migrate it from scratch (`cargo xtask reset`). \
                 Nothing was changed";
    if let Ok(Some((squash, said))) = followed(client)
        && !set.squashes.iter().any(|r| r.squash == squash)
    {
        let record = said.split_once(')').map_or(said.as_str(), |(r, _)| r.trim_start_matches('('));
        return Error::CheckoutBehind {
            message: format!(
                "this database followed squash {squash} {said}, which this checkout does not have: the checkout \
                     is from before that squash, and its migrations are the chain the squash replaced. Check out a \
                     commit that has the squash (the one that added {record}) and keep it, since the database \
                     records the squashed set now; {reset}"
            ),
        };
    }
    let newest = set.files.last();
    let unknown: Vec<&HistoryRow> = history.iter().filter(|h| set.get(h.version).is_none()).collect();
    let known_match = history.iter().all(|h| set.get(h.version).is_none_or(|file| h.is(file)));
    let all_newer = unknown.iter().all(|h| newest.is_none_or(|f| h.version > f.version));
    if !unknown.is_empty() && known_match && all_newer {
        let labels: Vec<String> = unknown.iter().map(|h| h.label()).collect();
        return Error::CheckoutBehind {
            message: format!(
                "this database applied {}, newer than every migration of this checkout (its newest is {}): the \
                 checkout is behind the database. Update it (`git pull`, or check out the commit that added them), \
                 then migrate again; {reset}",
                labels.join(", "),
                newest.map_or("none".to_string(), |f| f.label())
            ),
        };
    }
    error
}
