//! Reads each tool's folder layout into the tool's migrations, in the tool's own order: the up
//! SQL, the tool's "no transaction" marker, the checksum the tool stores, and the down files it
//! leaves out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256, Sha384};

use super::Tool;

/// One of the tool's migrations, as the tool would run it.
#[derive(Debug)]
pub struct Source {
    /// What the tool records in its history table (for Prisma the folder's name).
    pub tool_version: String,
    /// The name after the version, e.g. `create_users`.
    pub name: String,
    /// The file the up SQL was read from.
    pub path: PathBuf,
    /// The up SQL only (a goose or dbmate file's down section is left out).
    pub sql: String,
    /// The line of `path` that `sql` starts on (1 for a whole file).
    pub first_line: usize,
    /// Whether the tool runs it outside a transaction, by its own marker.
    pub no_transaction: bool,
    /// The checksum the tool stores, as its history table shows it.
    pub tool_checksum: Option<String>,
    /// The order key: the version's digits as a number, then the name (for Prisma the name only).
    order: (Vec<u128>, String),
}

/// What reading a folder found: the migrations, and what was left out (down files and sections,
/// repeatable or undo scripts), each with why.
#[derive(Debug, Default)]
pub struct Layout {
    /// The migrations, in the tool's order.
    pub sources: Vec<Source>,
    /// Files or sections not imported, each with the reason.
    pub ignored: Vec<String>,
}

/// Guesses which tool wrote `dir` from its files; fails naming the folder and what it saw when
/// no tool's layout fits, or more than one does.
pub fn detect(dir: &Path) -> Result<Tool> {
    let entries = list(dir)?;
    let mut seen: Vec<Tool> = Vec::new();
    let mut sql_files = 0;
    for (name, path) in &entries {
        let tool = if path.is_dir() {
            if path.join("migration.sql").is_file() {
                Some(Tool::Prisma)
            } else if path.join("up.sql").is_file() {
                Some(Tool::Diesel)
            } else {
                None
            }
        } else if name.ends_with(".sql") {
            sql_files += 1;
            if flyway_version(name).is_some() {
                Some(Tool::Flyway)
            } else if name.ends_with(".up.sql") || name.ends_with(".down.sql") {
                // golang-migrate and sqlx's reversible migrations name files alike.
                Some(Tool::GolangMigrate)
            } else if digits_prefix(name).is_some() {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                if text.lines().any(|l| l.trim_start().starts_with("-- +goose")) {
                    Some(Tool::Goose)
                } else if text.lines().any(|l| l.trim_start().starts_with("-- migrate:")) {
                    Some(Tool::Dbmate)
                } else {
                    Some(Tool::Sqlx)
                }
            } else {
                None
            }
        } else {
            None
        };
        if let Some(tool) = tool
            && !seen.contains(&tool)
        {
            seen.push(tool);
        }
    }
    match seen.as_slice() {
        [tool] => Ok(*tool),
        // sqlx's reversible files (`.up.sql`) next to its simple ones: sqlx.
        [a, b] if seen.contains(&Tool::Sqlx) && seen.contains(&Tool::GolangMigrate) && a != b => bail!(
            "{}: the folder holds both `<version>_<name>.sql` and `<version>_<name>.up.sql` files, which no one tool \
             writes side by side; pass --from sqlx or --from golang-migrate",
            dir.display()
        ),
        [] => bail!(
            "{}: no migration tool's layout found ({} entries, {sql_files} .sql files): expected sqlx \
             (<version>_<name>.sql), diesel (<version>_<name>/up.sql), golang-migrate (<version>_<name>.up.sql), \
             goose or dbmate (<version>_<name>.sql with their markers), Flyway (V<version>__<name>.sql) or Prisma \
             (<timestamp>_<name>/migration.sql); pass --from <tool> if it is one of these",
            dir.display(),
            entries.len()
        ),
        many => bail!(
            "{}: the folder fits more than one tool's layout ({}); pass --from <tool>",
            dir.display(),
            many.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Reads `dir` as `tool` lays out its migrations.
pub fn read(dir: &Path, tool: Tool) -> Result<Layout> {
    let mut layout = Layout::default();
    for (name, path) in list(dir)? {
        match tool {
            Tool::Diesel | Tool::Prisma if path.is_dir() => {
                let file = if tool == Tool::Diesel { "up.sql" } else { "migration.sql" };
                let sql_path = path.join(file);
                if !sql_path.is_file() {
                    continue;
                }
                let Some(version) = digits_prefix(&name) else { continue };
                if path.join("down.sql").is_file() {
                    layout.ignored.push(format!("{}: a down migration", path.join("down.sql").display()));
                }
                let bytes = read_file(&sql_path)?;
                let metadata = std::fs::read_to_string(path.join("metadata.toml")).unwrap_or_default();
                let no_transaction = metadata.lines().any(|l| l.replace(' ', "") == "run_in_transaction=false");
                let (tool_version, tool_checksum) = match tool {
                    Tool::Prisma => (name.clone(), Some(hex(&Sha256::digest(&bytes)))),
                    _ => (version.replace('-', ""), None),
                };
                // Prisma runs its folders in name order, and two may share a timestamp.
                let order = match tool {
                    Tool::Prisma => (Vec::new(), name.clone()),
                    _ => (vec![number(&version.replace('-', ""))], name.clone()),
                };
                layout.sources.push(Source {
                    order,
                    tool_version,
                    name: name_after_version(&name),
                    sql: text(&sql_path, bytes)?,
                    path: sql_path,
                    first_line: 1,
                    no_transaction,
                    tool_checksum,
                });
            }
            Tool::Flyway if name.ends_with(".sql") => {
                if name.starts_with('R') || name.starts_with('U') {
                    let what = if name.starts_with('U') { "an undo migration" } else { "a repeatable migration" };
                    layout.ignored.push(format!("{}: {what}", path.display()));
                    continue;
                }
                let Some((version, description)) = flyway_version(&name) else { continue };
                let bytes = read_file(&path)?;
                let checksum = flyway_checksum(&String::from_utf8_lossy(&bytes));
                layout.sources.push(Source {
                    order: (version.split('.').map(number).collect(), name.clone()),
                    tool_version: version,
                    name: refinery_name(&description),
                    sql: text(&path, bytes)?,
                    path,
                    first_line: 1,
                    no_transaction: false,
                    tool_checksum: Some(checksum.to_string()),
                });
            }
            Tool::Sqlx | Tool::GolangMigrate | Tool::Goose | Tool::Dbmate if name.ends_with(".sql") => {
                if name.ends_with(".down.sql") {
                    layout.ignored.push(format!("{}: a down migration", path.display()));
                    continue;
                }
                if tool == Tool::GolangMigrate && !name.ends_with(".up.sql") {
                    continue;
                }
                let Some(version) = digits_prefix(&name) else { continue };
                let stem = name.trim_end_matches(".sql").trim_end_matches(".up");
                let bytes = read_file(&path)?;
                let tool_checksum = (tool == Tool::Sqlx).then(|| hex(&Sha384::digest(&bytes)));
                let whole = text(&path, bytes)?;
                let (sql, first_line, no_transaction) = match tool {
                    Tool::Goose => up_section(&path, &whole, "-- +goose up", "-- +goose down", &mut layout.ignored)?,
                    Tool::Dbmate => up_section(&path, &whole, "-- migrate:up", "-- migrate:down", &mut layout.ignored)?,
                    _ => {
                        let marked = whole.lines().next().is_some_and(|l| l.trim_end() == "-- no-transaction");
                        (whole, 1, marked)
                    }
                };
                layout.sources.push(Source {
                    order: (vec![number(&version)], name.clone()),
                    // dbmate keeps the version as text; the others as a number.
                    tool_version: if tool == Tool::Dbmate { version } else { number(&version).to_string() },
                    name: name_after_version(stem),
                    sql,
                    path,
                    first_line,
                    no_transaction,
                    tool_checksum,
                });
            }
            _ => {}
        }
    }
    layout.sources.sort_by(|a, b| a.order.cmp(&b.order));
    // A version the tool keys its history by must be unique (Prisma keys it by the folder's name).
    let same_version = |a: &Source, b: &Source| tool != Tool::Prisma && a.order.0 == b.order.0;
    if let Some(pair) = layout.sources.windows(2).find(|w| same_version(&w[0], &w[1])) {
        bail!(
            "{} and {} have the same version {}: the tool would refuse them too; rename one",
            pair[0].path.display(),
            pair[1].path.display(),
            pair[0].tool_version
        );
    }
    if layout.sources.is_empty() {
        bail!("{}: no {} migration found in the folder", dir.display(), tool.name());
    }
    Ok(layout)
}

/// Returns a goose or dbmate file's up section (and where it starts, and whether the tool runs it
/// outside a transaction); the down section is reported in `ignored`. Markers are matched
/// without regard to case, as goose does.
fn up_section(
    path: &Path,
    whole: &str,
    up: &str,
    down: &str,
    ignored: &mut Vec<String>,
) -> Result<(String, usize, bool)> {
    let mut no_transaction = false;
    let mut start = None;
    let mut end = whole.len();
    let mut at = 0;
    for (n, line) in whole.split_inclusive('\n').enumerate() {
        let marker = line.trim().to_ascii_lowercase();
        if marker == "-- +goose no transaction" {
            no_transaction = true;
        }
        if marker.starts_with(up) && start.is_none() {
            no_transaction |= marker.contains("transaction:false");
            start = Some((at + line.len(), n + 2));
        } else if marker.starts_with(down) && start.is_some() {
            end = at;
            if !whole[at + line.len()..].trim().is_empty() {
                ignored.push(format!("{} line {}: a down section", path.display(), n + 1));
            }
            break;
        }
        at += line.len();
    }
    let Some((from, first_line)) = start else {
        bail!("{}: no `{up}` line: the tool would not know what to run", path.display());
    };
    // goose's statement markers only group lines for goose's own splitter; ours needs none.
    let sql: String = whole[from..end]
        .split_inclusive('\n')
        .map(|l| match l.trim().to_ascii_lowercase().as_str() {
            "-- +goose statementbegin" | "-- +goose statementend" => "\n",
            _ => l,
        })
        .collect();
    Ok((sql, first_line, no_transaction))
}

/// Lists `dir`'s entries (name, path), sorted by name.
fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("read the folder {}", dir.display()))? {
        let entry = entry.with_context(|| format!("read the folder {}", dir.display()))?;
        entries.push((entry.file_name().to_string_lossy().into_owned(), entry.path()));
    }
    entries.sort();
    Ok(entries)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("read {}", path.display()))
}

fn text(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not valid UTF-8 (byte {})", path.display(), e.utf8_error().valid_up_to()))
}

/// Returns the version at the start of `name`: digits, with diesel's `-` between them.
fn digits_prefix(name: &str) -> Option<String> {
    let version: String = name.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
    let version = version.trim_end_matches('-').to_string();
    (!version.is_empty() && version.starts_with(|c: char| c.is_ascii_digit())).then_some(version)
}

/// Returns a Flyway versioned migration's version (`1.2`, from `V1_2__x.sql` or `V1.2__x.sql`)
/// and description.
fn flyway_version(name: &str) -> Option<(String, String)> {
    let rest = name.strip_prefix('V')?.strip_suffix(".sql")?;
    let (version, description) = rest.split_once("__")?;
    let version = version.replace('_', ".");
    let valid =
        !version.is_empty() && version.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    valid.then(|| (version, description.to_string()))
}

fn number(digits: &str) -> u128 {
    digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u128, |n, b| n.saturating_mul(10).saturating_add(u128::from(b - b'0')))
}

/// Returns a refinery name for `<version>_<name>`: the part after the version.
fn name_after_version(stem: &str) -> String {
    let name = stem.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
    refinery_name(name.trim_start_matches('_'))
}

/// Makes `text` a refinery name: every character that is not a letter, digit or `_` becomes `_`.
fn refinery_name(text: &str) -> String {
    let name: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if name.is_empty() {
        "migration".to_string()
    } else {
        name
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Flyway's checksum: a CRC-32 over the file's lines (without their line breaks, the first
/// without a byte-order mark), shown as a signed 32-bit integer.
fn flyway_checksum(text: &str) -> i32 {
    let mut crc = !0u32;
    for (n, line) in text.lines().enumerate() {
        let line = if n == 0 { line.trim_start_matches('\u{feff}') } else { line };
        for byte in line.bytes() {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
    }
    (!crc) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flyway_checksum_is_a_crc32_of_the_lines() {
        // CRC-32 of "123456789" is 0xCBF43926.
        assert_eq!(flyway_checksum("12345\r\n6789\n"), 0xCBF4_3926_u32 as i32);
        assert_eq!(flyway_version("V1_2__add_users.sql"), Some(("1.2".into(), "add_users".into())));
        assert_eq!(flyway_version("V__x.sql"), None);
        assert_eq!(name_after_version("2019-02-26-002946_create-user"), "create_user");
    }
}
