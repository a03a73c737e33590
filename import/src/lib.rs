//! Brings a migration chain written for another tool into a migration set: reads a folder laid
//! out for sqlx, diesel, golang-migrate, goose, dbmate, Flyway or Prisma, and writes
//! `<into>/<module>/V<n>__<name>.sql` in the tool's own order, each file with the effect it had
//! under that tool (see `effect`), plus `import.json`, the record the runner adopts a database
//! the tool migrated from.
//!
//! The engine knows no product: it depends on the migration engine only, for its statement
//! splitter, its file checksum and its record type.

mod effect;
mod layouts;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use migrator::migrations::{is_module_name, ImportRecord, ImportedMigration, MigrationFile, MigrationSet, IMPORT_FILE};

/// A migration tool whose folders the import reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// `<version>_<name>.sql` (or `.up.sql`/`.down.sql`), history `_sqlx_migrations`.
    Sqlx,
    /// `<version>_<name>/up.sql` and `metadata.toml`, history `__diesel_schema_migrations`.
    Diesel,
    /// `<version>_<name>.up.sql` and `.down.sql`, history `schema_migrations` (version, dirty).
    GolangMigrate,
    /// `<version>_<name>.sql` with `-- +goose Up`/`Down`, history `goose_db_version`.
    Goose,
    /// `<version>_<name>.sql` with `-- migrate:up`/`down`, history `schema_migrations` (version).
    Dbmate,
    /// `V<version>__<name>.sql`, history `flyway_schema_history`.
    Flyway,
    /// `<timestamp>_<name>/migration.sql`, history `_prisma_migrations`.
    Prisma,
}

impl Tool {
    /// Every tool, in the order the help lists them.
    pub const ALL: [Tool; 7] =
        [Tool::Sqlx, Tool::Diesel, Tool::GolangMigrate, Tool::Goose, Tool::Dbmate, Tool::Flyway, Tool::Prisma];

    /// The tool's name, as `--from` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Goose => "goose",
            Tool::Dbmate => "dbmate",
            Tool::Flyway => "flyway",
            Tool::Prisma => "prisma",
        }
    }

    /// The history table the tool keeps.
    pub fn history_table(self) -> &'static str {
        match self {
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::GolangMigrate | Tool::Dbmate => "schema_migrations",
            Tool::Goose => "goose_db_version",
            Tool::Flyway => "flyway_schema_history",
            Tool::Prisma => "_prisma_migrations",
        }
    }

    /// Reads a `--from` value.
    pub fn parse(name: &str) -> Result<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name).with_context(|| {
            format!("--from {name}: not a tool the import reads; one of {}", Tool::ALL.map(Tool::name).join(", "))
        })
    }
}

/// What to import and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The tool, when the caller names it; else the folder's layout says.
    pub from: Option<Tool>,
    /// `(module, pattern)`: a migration goes to the first module whose pattern matches its
    /// name or a table it creates or alters (`*` matches any run of characters; a pattern
    /// without `*` is a table prefix). Empty: every migration goes to `main`.
    pub modules: Vec<(String, String)>,
    /// The migrations folder to write.
    pub into: PathBuf,
    /// Replace `into` when it holds files already.
    pub force: bool,
}

/// What an import wrote.
#[derive(Debug)]
pub struct Report {
    /// The tool the chain was written for.
    pub tool: Tool,
    /// Each file written (relative to the folder), with the tool's migration it came from and
    /// what changed, if anything.
    pub written: Vec<(String, String, Option<String>)>,
    /// What was not imported (down files and sections, repeatable and undo scripts), with why.
    pub ignored: Vec<String>,
    /// The folder written.
    pub into: PathBuf,
}

impl Report {
    /// Returns the lines `cargo xtask import` prints.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (path, from, note) in &self.written {
            match note {
                Some(note) => lines.push(format!("  {path} <- {from} ({note})")),
                None => lines.push(format!("  {path} <- {from}")),
            }
        }
        for ignored in &self.ignored {
            lines.push(format!("  not imported: {ignored}"));
        }
        lines.push(format!(
            "Imported {} migration(s) from {} into {} ({} not imported); origin recorded in {}",
            self.written.len(),
            self.tool.name(),
            self.into.display(),
            self.ignored.len(),
            self.into.join(IMPORT_FILE).display()
        ));
        lines
    }
}

/// Imports the chain in `from` as `options` say; returns what it wrote.
pub fn import(from: &Path, options: &Options) -> Result<Report> {
    let tool = match options.from {
        Some(tool) => tool,
        None => layouts::detect(from)?,
    };
    for (module, _) in &options.modules {
        if !is_module_name(module) {
            bail!(
                "--module {module}=...: a module's name is lower-case letters, digits and `_`, starting with a letter"
            );
        }
    }
    let into = &options.into;
    let non_empty =
        into.is_dir() && std::fs::read_dir(into).with_context(|| format!("read {}", into.display()))?.next().is_some();
    if non_empty && !options.force {
        bail!("{} is not empty: the import writes a new migrations folder; pass --force to replace it", into.display());
    }
    let layout = layouts::read(from, tool)?;

    let mut files: Vec<(String, String)> = Vec::new();
    let mut written = Vec::new();
    let mut migrations = Vec::new();
    for source in &layout.sources {
        let module = module_for(source, &options.modules)?;
        let parts = effect::parts(source, tool.name())?;
        let count = parts.len();
        for (n, part) in parts.into_iter().enumerate() {
            let version = i32::try_from(files.len() + 1).context("too many migrations")?;
            let name = if count > 1 { format!("{}_part{}", source.name, n + 1) } else { source.name.clone() };
            let rel = format!("{module}/V{version}__{name}.sql");
            let file = MigrationFile {
                version,
                name: name.clone(),
                module: Some(module.clone()),
                path: into.join(&rel),
                sql: part.sql.clone(),
                keep: false,
            };
            let note = if count > 1 {
                Some(format!("part {} of {count}{}", n + 1, if part.no_transaction { ", no-transaction" } else { "" }))
            } else if part.no_transaction {
                Some("no-transaction".to_string())
            } else if part.sql != source.sql {
                Some("BEGIN/COMMIT removed: one transaction".to_string())
            } else {
                None
            };
            written.push((rel.clone(), shown(from, &source.path), note));
            migrations.push(ImportedMigration {
                tool_version: source.tool_version.clone(),
                tool_checksum: source.tool_checksum.clone(),
                version,
                name,
                checksum: file.checksum().to_string(),
            });
            files.push((rel, part.sql));
        }
    }
    let record = ImportRecord {
        tool: tool.name().to_string(),
        history_table: tool.history_table().to_string(),
        migrations,
        path: into.join(IMPORT_FILE),
    };
    files.push((IMPORT_FILE.to_string(), record.to_text()));
    write_folder(into, &files)?;
    Ok(Report { tool, written, ignored: layout.ignored, into: into.clone() })
}

/// Shows `path` relative to the imported folder.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// Returns the module `source` goes to.
fn module_for(source: &layouts::Source, modules: &[(String, String)]) -> Result<String> {
    if modules.is_empty() {
        return Ok("main".to_string());
    }
    let tables = tables(&source.sql);
    for (module, pattern) in modules {
        let matches =
            |text: &str| if pattern.contains('*') { glob(pattern, text) } else { text.starts_with(pattern.as_str()) };
        let file_name = source.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if matches(&source.name) || matches(&file_name) || tables.iter().any(|t| matches(t)) {
            return Ok(module.clone());
        }
    }
    bail!(
        "{}: no --module pattern matches it (its name `{}`, tables [{}]); add one, e.g. `--module main=*` for the rest",
        source.path.display(),
        source.name,
        tables.join(", ")
    )
}

/// Returns the tables `sql` creates or alters, unquoted and without their schema.
fn tables(sql: &str) -> Vec<String> {
    let mut names = Vec::new();
    for span in migrator::migrate::split_statements(sql) {
        let words = migrator::migrate::statement_words(&sql[span], 8);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let rest: &[&str] = match words.as_slice() {
            ["create", "table", rest @ ..] | ["alter", "table", rest @ ..] => rest,
            ["create", "unlogged", "table", rest @ ..] => rest,
            _ => continue,
        };
        let rest: Vec<&str> =
            rest.iter().copied().filter(|w| !matches!(*w, "if" | "not" | "exists" | "only")).collect();
        if let Some(name) = rest.first() {
            names.push(name.to_string());
        }
    }
    names
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .any(|i| text.is_char_boundary(head.len() + i) && glob(tail, &text[head.len() + i..]))
        }
    }
}

/// Writes `files` into a new folder next to `into`, checks it reads as a migration set, then
/// puts it in place with a rename: `into` is the old folder or the new one, never half.
fn write_folder(into: &Path, files: &[(String, String)]) -> Result<()> {
    let name = into.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "migrations".into());
    let parent = into.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    let staging = parent.join(format!(".{name}.import-{}", std::process::id()));
    let old = parent.join(format!(".{name}.replaced-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    for (rel, text) in files {
        let path = staging.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    }
    if let Err(e) = MigrationSet::from_dir(&staging) {
        let _ = std::fs::remove_dir_all(&staging);
        bail!("the imported set does not read back as a migration set: {e}");
    }
    if into.exists() {
        std::fs::rename(into, &old).with_context(|| format!("move {} aside", into.display()))?;
    }
    std::fs::rename(&staging, into).with_context(|| format!("move the imported set into {}", into.display()))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).with_context(|| format!("remove the replaced {}", old.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
