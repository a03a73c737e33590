//! Writes each generated schema migration: the SQL `pg_restore` prints for the module's
//! entries, shaped into readable DDL (`shape`), under its header (`header`).

use std::collections::HashSet;

use super::facts::Facts;
use super::header::{self, Contents, Replaced};
use super::plan::{FileKind, PlannedFile};
use super::shape::{self, Chunk};
use super::toc::TocEntry;

/// Where a generated schema file's SQL comes from.
pub struct Sources<'a> {
    /// The archive's entries, and the SQL `pg_restore` prints for each (see `shape::chunks`).
    pub entries: &'a [TocEntry],
    pub chunks: &'a [Chunk],
    pub facts: &'a Facts,
}

/// Returns the SQL text of a generated schema file (initial or foreign keys).
pub fn schema_sql(sources: &Sources<'_>, file: &PlannedFile, replaced: Option<&Replaced>) -> String {
    let members: HashSet<usize> = file.entries.iter().copied().collect();
    let chunks: Vec<Chunk> =
        sources.chunks.iter().filter(|c| c.entry.is_some_and(|e| members.contains(&e))).cloned().collect();
    let shaped = shape::shape(&chunks, sources.entries, sources.facts);
    let module = file.module.as_deref();
    let contents = match file.kind {
        FileKind::ForeignKeys => Contents::ForeignKeys(module),
        _ => Contents::Schema(module),
    };
    let mut text = header::header(contents, replaced, &shaped.roles);
    if !shaped.roles.is_empty() {
        text.push('\n');
        text.push_str(&header::role_check(&shaped.roles));
    }
    let settings = shape::needed_settings(&shaped.sql);
    if !settings.is_empty() {
        text.push('\n');
        text.push_str(&settings.join("\n"));
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&shaped.sql);
    text.push('\n');
    text
}
