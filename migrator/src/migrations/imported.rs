//! The import record: where a chain brought from another migration tool came from
//! (`migrations/import.json`, written once by `cargo xtask import`, never edited).
//!
//! It names the tool and the history table the tool kept, and maps each of the tool's migrations
//! to the migration it became here, with the checksum the tool stored (when it stores one) and the
//! checksum of the file written here. The runner reads it to adopt a database the tool migrated:
//! the tool's history is checked against it and written as this runner's history.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The import record's file name, directly under the migrations folder.
pub const IMPORT_FILE: &str = "import.json";

/// Where an imported chain came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRecord {
    /// The tool that wrote the chain: `sqlx`, `diesel`, `golang-migrate`, `goose`, `dbmate`,
    /// `flyway` or `prisma`.
    pub tool: String,
    /// The tool's own history table, e.g. `_sqlx_migrations`.
    pub history_table: String,
    /// Each of the tool's migrations, in the tool's order.
    pub migrations: Vec<ImportedMigration>,
    /// Where the record was read from, for messages.
    #[serde(skip)]
    pub path: PathBuf,
}

/// One of the tool's migrations and the migration it became here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedMigration {
    /// The version the tool records in its history table (for Prisma: the folder's name).
    pub tool_version: String,
    /// The checksum the tool stores in its history table, as the table shows it (sqlx: hex of
    /// the SHA-384, Flyway: the CRC-32 as a signed integer, Prisma: hex of the SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_checksum: Option<String>,
    /// The version here.
    pub version: i32,
    /// The name here.
    pub name: String,
    /// The refinery checksum of the file written here, as the history table holds it.
    pub checksum: String,
}

impl ImportRecord {
    /// Returns the record's text, as `cargo xtask import` writes it.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Reads an import record from `bytes`, naming `path` when it is not one.
pub(super) fn parse_import(path: &Path, bytes: &[u8]) -> Result<ImportRecord> {
    let mut record: ImportRecord = serde_json::from_slice(bytes).map_err(|e| Error::MigrationFile {
        path: path.to_path_buf(),
        message: format!(
            "not a valid import record (line {}, column {}): {e}; it is written by `cargo xtask import` and never \
             edited: restore it from version control",
            e.line(),
            e.column()
        ),
    })?;
    record.path = path.to_path_buf();
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_what_it_wrote_and_names_a_bad_file() {
        let record = ImportRecord {
            tool: "sqlx".into(),
            history_table: "_sqlx_migrations".into(),
            migrations: vec![ImportedMigration {
                tool_version: "20200101000000".into(),
                tool_checksum: Some("ab".into()),
                version: 1,
                name: "init".into(),
                checksum: "42".into(),
            }],
            path: PathBuf::from("m/import.json"),
        };
        assert_eq!(parse_import(Path::new("m/import.json"), record.to_text().as_bytes()).unwrap(), record);
        let error = parse_import(Path::new("m/import.json"), b"{\"tool\": 1}").unwrap_err().to_string();
        assert!(error.contains("m/import.json") && error.contains("not a valid import record"), "{error}");
    }
}
