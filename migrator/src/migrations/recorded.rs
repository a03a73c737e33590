//! A migration as the files next to the migrations record it (version, name, checksum, path),
//! and the JSON layout those files share: one entry per line, so a change reads as a line diff.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::MigrationFile;
use crate::{Error, Result};

/// A migration as a record or the lock file lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedMigration {
    /// The migration's version.
    pub version: i32,
    /// refinery's name, e.g. `users_initial`.
    pub name: String,
    /// refinery's checksum, as the history table stores it (decimal text).
    pub checksum: String,
    /// The file's path relative to the migrations folder, e.g. `users/V1__users_initial.sql`.
    pub path: String,
    /// The file's SQL, kept only where a database may still need to run it (see
    /// [`SquashRecord`](super::SquashRecord)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
}

impl RecordedMigration {
    /// Returns the entry for `file`, without its SQL.
    pub fn of(file: &MigrationFile) -> RecordedMigration {
        RecordedMigration {
            version: file.version,
            name: file.name.clone(),
            checksum: file.checksum().to_string(),
            path: file.relative_path(),
            sql: None,
        }
    }

    /// Returns refinery's label, e.g. `V1__users_initial`.
    pub fn label(&self) -> String {
        format!("V{}__{}", self.version, self.name)
    }

    /// Whether `file` is this migration: same version, name and checksum.
    pub fn is(&self, file: &MigrationFile) -> bool {
        self.version == file.version && self.name == file.name && self.checksum == file.checksum().to_string()
    }

    /// Returns the migration file its kept SQL makes, shown in messages as coming from `record`.
    pub fn to_file(&self, record: &Path) -> Option<MigrationFile> {
        let sql = self.sql.clone()?;
        let module = self.path.split_once('/').map(|(module, _)| module.to_string());
        let keep = sql.lines().any(|line| line.trim() == super::KEEP_MARKER);
        Some(MigrationFile {
            version: self.version,
            name: self.name.clone(),
            module,
            path: record.to_path_buf(),
            sql,
            keep,
        })
    }

    /// Fails unless the kept SQL (if any) has the recorded checksum; `file` names the record.
    pub(super) fn check_sql(&self, file: &Path) -> Result<()> {
        let Some(sql) = &self.sql else { return Ok(()) };
        let actual = super::checksum::checksum(self.version, &self.name, sql);
        if actual.to_string() == self.checksum {
            return Ok(());
        }
        Err(Error::MigrationFile {
            path: file.to_path_buf(),
            message: format!(
                "the SQL kept for {} has checksum {actual}, not the recorded {}: the record was edited; restore it \
                 from git (`git checkout -- {}`)",
                self.label(),
                self.checksum,
                file.display()
            ),
        })
    }
}

/// A field of a record file, as [`layout`] writes it.
pub(super) enum Field {
    /// One value on the field's line.
    Plain(Value),
    /// A list of migrations, one per line.
    Migrations(Vec<RecordedMigration>),
    /// A map of strings, one entry per line.
    Map(Vec<(String, String)>),
}

impl RecordedMigration {
    /// Returns the entry as compact JSON, fields in reading order (version first).
    fn to_json_line(&self) -> String {
        let s = |v: &str| Value::from(v).to_string();
        let mut line = format!(
            "{{\"version\":{},\"name\":{},\"checksum\":{},\"path\":{}",
            self.version,
            s(&self.name),
            s(&self.checksum),
            s(&self.path)
        );
        if let Some(sql) = &self.sql {
            line.push_str(&format!(",\"sql\":{}", s(sql)));
        }
        line.push('}');
        line
    }
}

/// Writes `fields` as a JSON object, each listed migration and each map entry on a line of its own.
pub(super) fn layout(fields: &[(&str, Field)]) -> String {
    let s = |v: &str| Value::from(v).to_string();
    let block = |open: char, lines: Vec<String>, close: char| match lines.is_empty() {
        true => format!("{open}{close}"),
        false => format!("{open}\n{}\n  {close}", lines.join(",\n")),
    };
    let mut out = String::from("{\n");
    for (i, (name, field)) in fields.iter().enumerate() {
        out.push_str(&format!("  {}: ", s(name)));
        out.push_str(&match field {
            Field::Plain(value) => value.to_string(),
            Field::Migrations(list) => {
                block('[', list.iter().map(|m| format!("    {}", m.to_json_line())).collect(), ']')
            }
            Field::Map(entries) => {
                block('{', entries.iter().map(|(k, v)| format!("    {}: {}", s(k), s(v))).collect(), '}')
            }
        });
        out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
    out
}

/// Parses a record file's JSON into `T`, naming the file and line on failure.
pub(super) fn parse<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        // serde_json ends its message with the position, which comes first here.
        let full = e.to_string();
        let message = full.rfind(" at line ").map_or(full.as_str(), |at| &full[..at]);
        Error::MigrationFile {
            path: path.to_path_buf(),
            message: format!(
                "line {}, column {}: {message}; this file is written by cargo xtask, restore it from git \
                 (`git checkout -- {}`)",
                e.line(),
                e.column(),
                path.display()
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_one_entry_per_line_and_reads_back() {
        let migration = |version, sql: Option<&str>| RecordedMigration {
            version,
            name: "a".into(),
            checksum: "12".into(),
            path: "users/V1__a.sql".into(),
            sql: sql.map(str::to_string),
        };
        let fields = [
            ("about", Field::Plain(Value::from("a record"))),
            ("list", Field::Migrations(vec![migration(1, None), migration(2, Some("SELECT 'x';\n"))])),
            ("empty", Field::Migrations(vec![])),
            ("map", Field::Map(vec![("k".into(), "v".into()), ("l".into(), "w\nx".into())])),
        ];
        let text = layout(&fields);
        assert_eq!(
            text,
            "{\n  \"about\": \"a record\",\n  \"list\": [\n    {\"version\":1,\"name\":\"a\",\"checksum\":\"12\",\"path\":\"users/V1__a.sql\"},\n    \
             {\"version\":2,\"name\":\"a\",\"checksum\":\"12\",\"path\":\"users/V1__a.sql\",\"sql\":\"SELECT 'x';\\n\"}\n  ],\n  \
             \"empty\": [],\n  \"map\": {\n    \"k\": \"v\",\n    \"l\": \"w\\nx\"\n  }\n}\n"
        );
        #[derive(serde::Deserialize)]
        struct Back {
            list: Vec<RecordedMigration>,
            map: std::collections::BTreeMap<String, String>,
        }
        let back: Back = serde_json::from_str(&text).unwrap();
        assert_eq!(back.list, vec![migration(1, None), migration(2, Some("SELECT 'x';\n"))]);
        assert_eq!(back.map["l"], "w\nx");
    }
}
