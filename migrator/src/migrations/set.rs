//! The validated set of migration files: reading a folder (or the compiled-in entries), checking
//! its layout and names, and the set's identity.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::imported::{parse_import, ImportRecord, IMPORT_FILE};
use super::lock::{parse_lock, MigrationLock, LOCK_FILE};
use super::squashes::{check_chain, parse_record, record_number, SquashRecord, SQUASHES_DIR};
use super::{checksum, names};
use crate::{Error, Result};

/// Whether `name` may name a module folder: lower-case ASCII letters, digits and `_`, starting
/// with a letter (what a table prefix can be). A product that knows its modules checks the list
/// itself; the engine takes any chain's.
pub fn is_module_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Marks, on a line of its own, a migration that squash keeps as its own file.
///
/// It lives with the set because reading a file records it in [`MigrationFile::keep`], and
/// the product writes it into the migrations it generates (journey fixtures, LangGraph steps).
pub const KEEP_MARKER: &str = "-- squash: keep";

/// Marks, as its first line, a migration that runs statement by statement outside a transaction
/// (sqlx's marker), for what Postgres cannot run in one: `CREATE INDEX CONCURRENTLY`, `VACUUM`,
/// an enum value added with `ALTER TYPE ... ADD VALUE` and used later in the same file.
pub const NO_TRANSACTION_MARKER: &str = "-- no-transaction";

/// How the runner applies a migration file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionMode {
    /// In one transaction together with its history row: all of it is applied, or nothing.
    OneTransaction,
    /// Statement by statement outside a transaction, its history row recorded after the last one
    /// succeeded: the file's first line is [`NO_TRANSACTION_MARKER`].
    NoTransaction,
}

/// One SQL migration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationFile {
    /// The refinery version: the number after `V`.
    pub version: i32,
    /// refinery's name: the part after `__`, e.g. `users_initial`.
    pub name: String,
    /// The folder under the migrations root; `None` for a flat folder.
    pub module: Option<String>,
    /// The path to show in messages, e.g. `migrations/users/V1__users_initial.sql`.
    pub path: PathBuf,
    /// The file's SQL, exactly as written.
    pub sql: String,
    /// Whether the file contains [`KEEP_MARKER`] on a line of its own.
    pub keep: bool,
}

impl MigrationFile {
    /// Returns refinery's label for the migration, e.g. `V1__users_initial`.
    pub fn label(&self) -> String {
        format!("V{}__{}", self.version, self.name)
    }

    /// Returns how the runner applies the file: [`TransactionMode::NoTransaction`] when its first
    /// line is [`NO_TRANSACTION_MARKER`], else in one transaction.
    pub fn transaction_mode(&self) -> TransactionMode {
        match self.sql.lines().next() {
            Some(first) if first.trim_end() == NO_TRANSACTION_MARKER => TransactionMode::NoTransaction,
            _ => TransactionMode::OneTransaction,
        }
    }

    /// Returns the checksum refinery records in its history table for this file.
    pub fn checksum(&self) -> u64 {
        checksum::checksum(self.version, &self.name, &self.sql)
    }

    /// Returns the path relative to the migrations root, e.g. `users/V1__users_initial.sql`.
    pub fn relative_path(&self) -> String {
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("{}.sql", self.label()));
        match &self.module {
            Some(module) => format!("{module}/{file_name}"),
            None => file_name,
        }
    }
}

/// A validated set of migrations, sorted by version, with the records kept next to them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationSet {
    /// The migration files, sorted by version; versions are unique.
    pub files: Vec<MigrationFile>,
    /// What each squash replaced (`squashes/<n>.json`), oldest first.
    pub squashes: Vec<SquashRecord>,
    /// The committed checksums and expected schema (`migrations.lock.json`), when there is one.
    pub lock: Option<MigrationLock>,
    /// Where the chain came from when another tool wrote it (`import.json`), when it did.
    pub import: Option<ImportRecord>,
}

/// One entry under the migrations root: a folder, or a file whose content is read on demand.
/// A binary that compiles its migrations in lists them as entries ([`MigrationSet::from_entries`]).
pub struct Entry<'a> {
    /// Path components relative to the root.
    pub components: Vec<String>,
    /// A folder, or where the file's bytes are.
    pub content: Content<'a>,
}

/// What an [`Entry`] holds.
pub enum Content<'a> {
    /// A folder.
    Dir,
    /// A file on disk, read only when it is a migration.
    Disk(PathBuf),
    /// A file compiled into the crate.
    Embedded(&'a [u8]),
}

impl MigrationSet {
    /// Validates the folder layout and every file name of `entries` (everything under a
    /// migrations folder, as a binary compiled it in), shown as paths under `root`, then reads the
    /// migrations: the same checks as [`MigrationSet::from_dir`].
    pub fn from_entries(root: &Path, entries: Vec<Entry<'_>>) -> Result<MigrationSet> {
        from_entries(root, entries)
    }

    /// Reads and validates the migrations folder `dir`.
    ///
    /// The folder is either flat (`V1__x.sql` files) or holds one folder per module in
    /// ([`is_module_name`]). Fails, naming the file, on a mis-named file, a file that is not a migration, a
    /// version used twice, a folder that is not a module, a nested folder, or a file next to
    /// module folders. `sdm` runs only the set it compiles in ([`MigrationSet::from_entries`]); this shares its
    /// exact validation, so the tools that read a folder (squash, verify) judge files the same way.
    ///
    /// ```no_run
    /// let set = migrator::migrations::MigrationSet::from_dir(std::path::Path::new("migrations"))?;
    /// println!("{} migrations", set.files.len());
    /// # Ok::<(), migrator::Error>(())
    /// ```
    pub fn from_dir(dir: &Path) -> Result<MigrationSet> {
        let mut entries = Vec::new();
        walk(dir, &mut Vec::new(), &mut entries)?;
        from_entries(dir, entries)
    }

    /// Returns a hex SHA-256 over every file's relative path and SQL, in version order.
    ///
    /// Two sets with the same hash give the same database; test databases name their templates
    /// by it. It is defined here, over [`MigrationFile::relative_path`], so the embedded set and
    /// the same folder read from disk hash alike.
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for file in &self.files {
            // Length prefixes keep ("a", "bc") and ("ab", "c") apart.
            let path = file.relative_path();
            hasher.update((path.len() as u64).to_le_bytes());
            hasher.update(path.as_bytes());
            hasher.update((file.sql.len() as u64).to_le_bytes());
            hasher.update(file.sql.as_bytes());
        }
        let mut hex = String::with_capacity(64);
        for byte in hasher.finalize() {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }

    /// Returns the file with `version`, if any.
    pub fn get(&self, version: i32) -> Option<&MigrationFile> {
        self.files.binary_search_by_key(&version, |f| f.version).ok().map(|i| &self.files[i])
    }

    /// Returns the record of the latest squash, if the set was ever squashed.
    pub fn last_squash(&self) -> Option<&SquashRecord> {
        self.squashes.last()
    }

    /// Returns the migrations written after the latest squash (every migration when the set was
    /// never squashed): the ones a reviewer, or a linter, looks at.
    ///
    /// ```no_run
    /// let set = migrator::migrations::MigrationSet::from_dir(std::path::Path::new("migrations"))?;
    /// for file in set.added_since_last_squash() {
    ///     println!("{}", file.path.display());
    /// }
    /// # Ok::<(), migrator::Error>(())
    /// ```
    pub fn added_since_last_squash(&self) -> &[MigrationFile] {
        let Some(last) = self.last_squash() else { return &self.files };
        let newest = last.newest_version().unwrap_or(i32::MIN);
        let start = self.files.partition_point(|f| f.version <= newest);
        &self.files[start..]
    }
}

/// Lists every folder and file under `dir` (relative components in `prefix`), sorted by name.
fn walk(dir: &Path, prefix: &mut Vec<String>, out: &mut Vec<Entry<'static>>) -> Result<()> {
    let io = |source| Error::Io { path: dir.to_path_buf(), source };
    let mut children: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        children.push((entry.file_name().to_string_lossy().into_owned(), entry.path()));
    }
    children.sort();
    for (name, path) in children {
        let is_dir = std::fs::metadata(&path).map_err(|source| Error::Io { path: path.clone(), source })?.is_dir();
        prefix.push(name);
        if is_dir {
            out.push(Entry { components: prefix.clone(), content: Content::Dir });
            walk(&path, prefix, out)?;
        } else {
            out.push(Entry { components: prefix.clone(), content: Content::Disk(path) });
        }
        prefix.pop();
    }
    Ok(())
}

/// Validates the folder layout and every file name under `root`, then reads the migrations.
pub(super) fn from_entries(root: &Path, entries: Vec<Entry<'_>>) -> Result<MigrationSet> {
    let display = |components: &[String]| components.iter().fold(root.to_path_buf(), |p, c| p.join(c));
    let is_dir = |e: &Entry| matches!(e.content, Content::Dir);
    let is_records = |e: &Entry| e.components.first().is_some_and(|c| c == SQUASHES_DIR);
    let modular = entries.iter().any(|e| e.components.len() == 1 && is_dir(e) && !is_records(e));

    let mut files: Vec<MigrationFile> = Vec::new();
    let mut squashes: Vec<SquashRecord> = Vec::new();
    let mut lock = None;
    let mut import = None;
    for entry in &entries {
        let path = display(&entry.components);
        let file_name = entry.components.last().map(String::as_str).unwrap_or_default();
        let depth = entry.components.len();
        if is_records(entry) {
            if let Some(record) = record_entry(entry, &path, file_name, depth)? {
                squashes.push(record);
            }
            continue;
        }
        if depth == 1 && file_name == LOCK_FILE && !is_dir(entry) {
            lock = Some(parse_lock(&path, &read_bytes(entry, &path)?)?);
            continue;
        }
        if depth == 1 && file_name == IMPORT_FILE && !is_dir(entry) {
            import = Some(parse_import(&path, &read_bytes(entry, &path)?)?);
            continue;
        }
        if is_dir(entry) {
            if depth == 1 && !is_module_name(file_name) {
                return Err(Error::MigrationFile {
                    path,
                    message: format!(
                        "folder `{file_name}` is not a module: a module folder's name is lower-case letters, \
                         digits and `_`, starting with a letter; rename it, or move its migrations into the \
                         module whose tables they change"
                    ),
                });
            }
            if depth > 1 {
                return Err(Error::MigrationFile {
                    path,
                    message: format!(
                        "nested folder: migrations go directly in a module folder ({}/V<version>__<name>.sql); \
                         move its files up one level",
                        entry.components[0]
                    ),
                });
            }
            continue;
        }
        if names::ALLOWED_EXTRAS.contains(&file_name) {
            continue;
        }
        if modular && depth == 1 {
            return Err(Error::MigrationFile {
                path,
                message: "file next to module folders: move it into the folder of its module".to_string(),
            });
        }
        let (version, name) = names::parse_file_name(file_name)
            .map_err(|message| Error::MigrationFile { path: path.clone(), message })?;
        let sql = String::from_utf8(read_bytes(entry, &path)?).map_err(|e| Error::MigrationFile {
            path: path.clone(),
            message: format!("not valid UTF-8 (byte {}): save the file as UTF-8", e.utf8_error().valid_up_to()),
        })?;
        let keep = sql.lines().any(|line| line.trim() == KEEP_MARKER);
        let module = if modular { Some(entry.components[0].clone()) } else { None };
        files.push(MigrationFile { version, name, module, path, sql, keep });
    }

    let mut by_version: BTreeMap<i32, usize> = BTreeMap::new();
    let next_free = files.iter().map(|f| f.version).max().unwrap_or(0).saturating_add(1);
    for (i, file) in files.iter().enumerate() {
        if let Some(&first) = by_version.get(&file.version) {
            let first = &files[first];
            return Err(Error::MigrationFile {
                path: file.path.clone(),
                message: format!(
                    "version {} is used twice: by {} and by {}; give one of them the next free version, V{}",
                    file.version,
                    first.path.display(),
                    file.path.display(),
                    next_free
                ),
            });
        }
        by_version.insert(file.version, i);
    }
    files.sort_by_key(|f| f.version);
    squashes.sort_by_key(|r| r.squash);
    check_chain(&squashes)?;
    Ok(MigrationSet { files, squashes, lock, import })
}

/// Returns an entry's bytes (read from disk, or compiled in).
fn read_bytes(entry: &Entry<'_>, path: &Path) -> Result<Vec<u8>> {
    match &entry.content {
        Content::Disk(disk) => std::fs::read(disk).map_err(|source| Error::Io { path: path.to_path_buf(), source }),
        Content::Embedded(bytes) => Ok(bytes.to_vec()),
        Content::Dir => Err(Error::MigrationFile { path: path.to_path_buf(), message: "is a folder".into() }),
    }
}

/// Reads an entry of the squash records folder: `None` for the folder itself and allowed extras.
fn record_entry(entry: &Entry<'_>, path: &Path, file_name: &str, depth: usize) -> Result<Option<SquashRecord>> {
    let is_dir = matches!(entry.content, Content::Dir);
    if depth == 1 && is_dir {
        return Ok(None);
    }
    if depth > 2 || is_dir {
        return Err(Error::MigrationFile {
            path: path.to_path_buf(),
            message: format!("nested folder: {SQUASHES_DIR}/ holds only the squash records (<n>.json)"),
        });
    }
    if depth == 1 || names::ALLOWED_EXTRAS.contains(&file_name) {
        return match depth {
            1 => Err(Error::MigrationFile {
                path: path.to_path_buf(),
                message: format!("`{SQUASHES_DIR}` must be a folder of squash records"),
            }),
            _ => Ok(None),
        };
    }
    let Some(number) = record_number(file_name) else {
        return Err(Error::MigrationFile {
            path: path.to_path_buf(),
            message: format!(
                "`{file_name}` is not a squash record: {SQUASHES_DIR}/ holds only the files `cargo xtask squash` writes                  (<n>.json, e.g. 0001.json); move it elsewhere"
            ),
        });
    };
    parse_record(path, number, &read_bytes(entry, path)?).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: i32, name: &str, sql: &str) -> MigrationFile {
        MigrationFile {
            version,
            name: name.into(),
            module: Some("users".into()),
            path: PathBuf::from(format!("migrations/users/V{version}__{name}.sql")),
            sql: sql.into(),
            keep: false,
        }
    }

    #[test]
    fn the_first_line_alone_marks_a_file_that_runs_without_a_transaction() {
        let mode = |sql: &str| file(1, "a", sql).transaction_mode();
        assert_eq!(mode("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"), TransactionMode::NoTransaction);
        assert_eq!(mode("-- no-transaction  \r\nVACUUM;"), TransactionMode::NoTransaction);
        assert_eq!(mode("-- a header\n-- no-transaction\nVACUUM;"), TransactionMode::OneTransaction);
        assert_eq!(mode("-- no-transactions\nSELECT 1;"), TransactionMode::OneTransaction);
        assert_eq!(mode(""), TransactionMode::OneTransaction);
    }

    #[test]
    fn content_hash_changes_with_path_or_sql() {
        let a = MigrationSet { files: vec![file(1, "a", "SELECT 1;")], ..MigrationSet::default() };
        let mut b = a.clone();
        b.files[0].sql.push(' ');
        let mut c = a.clone();
        c.files[0].module = Some("evidence".into());
        assert_eq!(a.content_hash().len(), 64);
        assert_eq!(a.content_hash(), a.clone().content_hash());
        assert_ne!(a.content_hash(), b.content_hash());
        assert_ne!(a.content_hash(), c.content_hash());
    }

    #[test]
    fn a_compiled_in_set_carries_its_import_record_next_to_module_folders() {
        let record = br#"{"tool": "goose", "history_table": "goose_db_version", "migrations": [
            {"tool_version": "1", "version": 1, "name": "a", "checksum": "1"}]}"#;
        let entry = |path: &str, content: Content<'static>| Entry {
            components: path.split('/').map(str::to_string).collect(),
            content,
        };
        let entries = vec![
            entry("import.json", Content::Embedded(record)),
            entry("main", Content::Dir),
            entry("main/V1__a.sql", Content::Embedded(b"SELECT 1;")),
        ];
        let set = MigrationSet::from_entries(Path::new("migrations"), entries).unwrap();
        let import = set.import.expect("the import record is read");
        assert_eq!((import.tool.as_str(), import.path.as_path()), ("goose", Path::new("migrations/import.json")));
        assert_eq!(set.files.len(), 1);
        let bad = vec![entry("import.json", Content::Embedded(b"[]")), entry("V1__a.sql", Content::Embedded(b""))];
        let error = MigrationSet::from_entries(Path::new("migrations"), bad).unwrap_err().to_string();
        assert!(error.contains("migrations/import.json") && error.contains("not a valid import record"), "{error}");
    }
}
