//! Adopts a database another tool migrated: when it has no history of ours but the tool's own
//! history table, and the set records the import (`import.json`), the tool's rows are checked
//! against the record and written as ours, under the migration lock, in one transaction. The
//! tool's table is left as it is.
//!
//! Refused by name, changing nothing: a table without the tool's columns, a migration the tool
//! recorded as failed (or a dirty golang-migrate version), one the record does not know, one
//! missing before a later applied one, and a checksum that disagrees where the tool stores one.

use postgres::Client;

use super::history;
use crate::migrations::{ImportRecord, ImportedMigration, MigrationSet};
use crate::{Error, Result};

/// What an adoption wrote: our history for the migrations the tool had applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adoption {
    /// The tool, e.g. `goose`.
    pub tool: String,
    /// The tool's history table, e.g. `goose_db_version`.
    pub table: String,
    /// How many of our migrations were recorded as applied.
    pub migrations: usize,
}

impl Adoption {
    /// Returns the line every command that migrates prints.
    pub fn describe(&self) -> String {
        format!("Adopted {} migrations from {}'s {}", self.migrations, self.tool, self.table)
    }
}

/// One row of the tool's history, as the tool means it.
struct ToolRow {
    version: String,
    checksum: Option<String>,
    failed: bool,
}

/// The columns each tool's history table has (those the adoption reads).
fn columns(tool: &str) -> Option<&'static [&'static str]> {
    Some(match tool {
        "sqlx" => &["version", "success", "checksum"],
        "diesel" => &["version", "run_on"],
        "golang-migrate" => &["version", "dirty"],
        "dbmate" => &["version"],
        "goose" => &["version_id", "is_applied"],
        "flyway" => &["version", "success", "checksum", "installed_rank"],
        "prisma" => &["migration_name", "checksum", "finished_at", "rolled_back_at", "started_at"],
        _ => return None,
    })
}

/// Adopts the database when it holds `record`'s tool history; `None` when it has no such table.
pub(super) fn adopt(client: &mut Client, set: &MigrationSet, record: &ImportRecord) -> Result<Option<Adoption>> {
    let table = record.history_table.as_str();
    let exists: bool =
        client.query_one("SELECT pg_catalog.to_regclass(pg_catalog.quote_ident($1)) IS NOT NULL", &[&table])?.get(0);
    if !exists {
        return Ok(None);
    }
    let refuse =
        |message: String| Error::AdoptionRefused { tool: record.tool.clone(), table: table.to_string(), message };
    let expected = columns(&record.tool).ok_or_else(|| {
        refuse(format!("{} names tool `{}`, which the runner cannot adopt from", record.path.display(), record.tool))
    })?;
    let present: Vec<String> = client
        .query(
            "SELECT attname::text FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass(pg_catalog.quote_ident($1)) \
             AND attnum > 0 AND NOT attisdropped",
            &[&table],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let missing: Vec<&str> = expected.iter().copied().filter(|c| !present.iter().any(|p| p == c)).collect();
    if !missing.is_empty() {
        return Err(refuse(format!(
            "{table} has no column(s) {} that {}'s table has, so it is not that tool's history (another tool's \
             table of the same name?); migrate this database with the tool that wrote {table}",
            missing.join(", "),
            record.tool
        )));
    }
    let rows = read(client, record)?;
    let applied = check(record, &rows).map_err(refuse)?;
    let ours: Vec<_> = record.migrations.iter().filter(|m| applied.contains(&m.tool_version)).collect();
    if ours.is_empty() {
        return Ok(None);
    }
    squashed_part_way(set, record, &ours).map_err(refuse)?;
    let history_table = history::create(client)?;
    let mut transaction = client.transaction()?;
    for m in &ours {
        let insert = history::insert_row_sql(&history_table, m.version, &m.name, &m.checksum)
            .map_err(|message| Error::MigrationFile { path: record.path.clone(), message })?;
        transaction.batch_execute(&insert)?;
    }
    transaction.commit()?;
    Ok(Some(Adoption { tool: record.tool.clone(), table: table.to_string(), migrations: ours.len() }))
}

/// Refuses, before anything is written, a database the tool migrated part-way through a chain
/// that a squash has since replaced: it could not follow the squash (the squash removed the files
/// it lacks).
fn squashed_part_way(
    set: &MigrationSet,
    record: &ImportRecord,
    ours: &[&ImportedMigration],
) -> std::result::Result<(), String> {
    for squash in &set.squashes {
        let replaced =
            |m: &&&ImportedMigration| squash.replaced.iter().any(|r| r.version == m.version && r.name == m.name);
        let done = ours.iter().filter(replaced).count();
        if done > 0 && done < squash.replaced.len() {
            let tool = &record.tool;
            return Err(format!(
                "{tool} applied {done} of the {} migrations squash {} replaced ({}), whose files are gone, so the \
                 database could not follow the squash: migrate it to the end of the imported chain with {tool} first, \
                 then migrate again",
                squash.replaced.len(),
                squash.squash,
                squash.path.display()
            ));
        }
    }
    Ok(())
}

/// Reads what the tool applied, in the tool's terms.
fn read(client: &mut Client, record: &ImportRecord) -> Result<Vec<ToolRow>> {
    let table = record.history_table.as_str();
    let query = match record.tool.as_str() {
        "sqlx" => format!("SELECT version::text, pg_catalog.encode(checksum, 'hex'), NOT success FROM {table} ORDER BY version"),
        "diesel" | "dbmate" => format!("SELECT version::text, NULL::text, false FROM {table} ORDER BY version"),
        "golang-migrate" => format!("SELECT version::text, NULL::text, dirty FROM {table}"),
        // goose appends a row per up and down; the newest row of a version says where it stands.
        "goose" => format!(
            "SELECT DISTINCT ON (version_id) version_id::text, NULL::text, false, is_applied FROM {table} \
             WHERE version_id <> 0 ORDER BY version_id, id DESC"
        ),
        // Flyway's own marker rows: `SCHEMA` (it created the schema) ran no migration; `BASELINE`
        // says every version up to its own stands for the schema the database had (handled below).
        "flyway" => format!(
            "SELECT version, checksum::text, NOT success, type = 'BASELINE' FROM {table} WHERE version IS NOT NULL \
             AND type NOT IN ('SCHEMA', 'DELETE') AND type NOT LIKE 'UNDO%' ORDER BY installed_rank"
        ),
        "prisma" => format!(
            "SELECT migration_name, checksum, finished_at IS NULL FROM {table} WHERE rolled_back_at IS NULL ORDER BY started_at"
        ),
        _ => return Ok(Vec::new()),
    };
    let mut rows: Vec<ToolRow> = Vec::new();
    let mut baseline: Option<String> = None;
    for row in client.query(&query, &[])? {
        if record.tool == "goose" && !row.get::<_, bool>(3) {
            continue;
        }
        if record.tool == "flyway" && row.get::<_, bool>(3) {
            baseline = Some(row.get(0));
            continue;
        }
        rows.push(ToolRow { version: row.get(0), checksum: row.get(1), failed: row.get(2) });
    }
    if let Some(baseline) = baseline {
        // A database baselined at version B had the schema of every migration up to B without
        // Flyway running them: they count as applied.
        let up_to: Vec<ToolRow> = record
            .migrations
            .iter()
            .filter(|m| flyway_order(&m.tool_version) <= flyway_order(&baseline))
            .filter(|m| !rows.iter().any(|r| r.version == m.tool_version))
            .map(|m| ToolRow { version: m.tool_version.clone(), checksum: None, failed: false })
            .collect();
        rows.splice(0..0, up_to);
    }
    if record.tool == "golang-migrate" {
        // golang-migrate keeps only its newest version: every migration up to it ran.
        if let Some(newest) = rows.first() {
            let newest_number: u128 = newest.version.parse().unwrap_or(0);
            let failed = newest.failed;
            let mut all: Vec<ToolRow> = record
                .migrations
                .iter()
                .filter(|m| m.tool_version.parse::<u128>().is_ok_and(|v| v < newest_number))
                .map(|m| ToolRow { version: m.tool_version.clone(), checksum: None, failed: false })
                .collect();
            all.dedup_by(|a, b| a.version == b.version);
            all.push(ToolRow { version: newest.version.clone(), checksum: None, failed });
            rows = all;
        }
    }
    Ok(rows)
}

/// Returns a Flyway version (`1.2`, `2_1`) as numbers compared part by part, as Flyway orders them.
fn flyway_order(version: &str) -> Vec<u128> {
    version.split(['.', '_']).map(|part| part.parse().unwrap_or(0)).collect()
}

/// Checks the tool's rows against the record; returns the tool versions applied, or why not.
fn check(record: &ImportRecord, rows: &[ToolRow]) -> std::result::Result<Vec<String>, String> {
    let table = &record.history_table;
    let tool = &record.tool;
    if let Some(row) = rows.iter().find(|r| r.failed) {
        let dirty = if tool == "golang-migrate" { "is dirty (it failed part-way)" } else { "is recorded as failed" };
        return Err(format!(
            "{tool}'s migration {} {dirty} in {table}: finish or undo it with {tool} (and clear its mark there), then \
             migrate again",
            row.version
        ));
    }
    let record_file = record.path.display();
    if let Some(row) = rows.iter().find(|r| !record.migrations.iter().any(|m| m.tool_version == r.version)) {
        return Err(format!(
            "{tool}'s migration {} is applied but {record_file} does not know it: the database ran a newer or other \
             chain than the one imported; import the folder it was migrated with (`cargo xtask import <folder> \
             --force`), then migrate again",
            row.version
        ));
    }
    let mut order: Vec<&str> = record.migrations.iter().map(|m| m.tool_version.as_str()).collect();
    order.dedup();
    let applied: Vec<&str> = order.iter().copied().filter(|v| rows.iter().any(|r| r.version == *v)).collect();
    if let Some(last) = applied.last() {
        let end = order.iter().position(|v| v == last).unwrap_or(0);
        if let Some(gap) = order[..end].iter().find(|v| !applied.contains(v)) {
            return Err(format!(
                "{tool}'s migration {gap} is not applied although the later {last} is: this runner applies in order \
                 only; apply {gap} with {tool} first, then migrate again"
            ));
        }
    }
    for row in rows {
        let Some(stored) = &row.checksum else { continue };
        let recorded =
            record.migrations.iter().find(|m| m.tool_version == row.version).and_then(|m| m.tool_checksum.as_ref());
        if let Some(recorded) = recorded
            && !stored.eq_ignore_ascii_case(recorded)
        {
            return Err(format!(
                "{tool}'s migration {} has checksum {stored} in {table} but {recorded} in {record_file}: the \
                     database ran another version of that file; import the folder it was migrated with, then migrate \
                     again",
                row.version
            ));
        }
    }
    Ok(applied.iter().map(|v| v.to_string()).collect())
}
