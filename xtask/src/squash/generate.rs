//! Writes each generated schema migration: `pg_restore` of the module's entries, shaped into
//! readable DDL (`shape`), under its header (`header`).

use std::path::Path;

use anyhow::Context;
use devdb::Server;
use xshell::Shell;

use super::facts::Facts;
use super::header::{self, Contents, Replaced};
use super::plan::{FileKind, PlannedFile};
use super::toc::TocEntry;
use super::{pg, shape};

/// Where a generated schema file's SQL comes from.
pub struct Sources<'a> {
    pub server: &'a Server,
    /// The chain's custom-format archive, and a folder for list files.
    pub archive: &'a Path,
    pub work: &'a Path,
    pub entries: &'a [TocEntry],
    pub facts: &'a Facts,
}

/// Returns the SQL text of a generated schema file (initial or foreign keys).
pub fn schema_sql(
    sh: &Shell,
    sources: &Sources<'_>,
    file: &PlannedFile,
    replaced: Option<&Replaced>,
) -> anyhow::Result<String> {
    let list: String = file.entries.iter().map(|&i| format!("{}\n", sources.entries[i].line)).collect();
    let list_file = sources.work.join(format!("{}.list", file.name));
    std::fs::write(&list_file, list).with_context(|| format!("write {}", list_file.display()))?;
    let body = pg::restore_sql(sh, sources.server, sources.archive, &list_file)?;
    let shaped = shape::shape(&body, &file.entries, sources.entries, sources.facts);
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
    Ok(text)
}
