//! Turns other tools' migration folders into a flat refinery folder (`V<n>__<name>.sql`), for
//! the tests that squash real chains: diesel (`<version>_<name>/up.sql`), Prisma
//! (`<timestamp>_<name>/migration.sql`) and golang-migrate (`<version>_<name>.up.sql`).
//!
//! A migration the tool runs outside a transaction (diesel's `run_in_transaction = false`,
//! Prisma's and golang-migrate's single `CONCURRENTLY` statements) gets a first line
//! `-- no-transaction`; Prisma's `BEGIN;`/`COMMIT;` lines inside a file go, the file being one
//! transaction already.

use std::path::{Path, PathBuf};

/// The migration tools whose folders [`convert`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One folder per migration holding `up.sql` (and maybe `metadata.toml`).
    Diesel,
    /// One folder per migration holding `migration.sql`.
    Prisma,
    /// `<version>_<name>.up.sql` files side by side.
    GolangMigrate,
}

/// Converts the migrations in `from` (in `format`) into flat files in `to`, with
/// `replacements` (`(from, to)`) applied to every file's text; returns how many it wrote.
pub fn convert(from: &Path, format: Format, to: &Path, replacements: &[(&str, &str)]) -> std::io::Result<usize> {
    let mut sources: Vec<(String, PathBuf, bool)> = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(from)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    // Diesel writes versions as `2017-09-23-182408` or `20170804200817`: both order by their digits.
    names.sort_by_key(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (version, rest) = name.split_once('_').unwrap_or((&name, ""));
        (version.replace('-', ""), rest.to_string())
    });
    for path in names {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match format {
            Format::Diesel | Format::Prisma if path.is_dir() => {
                let sql = path.join(if format == Format::Diesel { "up.sql" } else { "migration.sql" });
                if !sql.is_file() {
                    continue;
                }
                let metadata = std::fs::read_to_string(path.join("metadata.toml")).unwrap_or_default();
                let outside = metadata.lines().any(|l| l.replace(' ', "") == "run_in_transaction=false");
                sources.push((name_after_version(&file_name), sql, outside));
            }
            Format::GolangMigrate if file_name.ends_with(".up.sql") => {
                sources.push((name_after_version(file_name.trim_end_matches(".up.sql")), path, false));
            }
            _ => {}
        }
    }
    std::fs::create_dir_all(to)?;
    for (n, (name, path, outside)) in sources.iter().enumerate() {
        let mut sql = std::fs::read_to_string(path)?;
        for (from, to) in replacements {
            sql = sql.replace(from, to);
        }
        if format == Format::Prisma {
            // Prisma wraps an enum's rewrite in BEGIN/COMMIT inside the file; here the whole
            // file is one transaction already.
            sql = sql.lines().filter(|l| !matches!(l.trim(), "BEGIN;" | "COMMIT;")).collect::<Vec<_>>().join("\n");
        }
        let concurrently = format != Format::Diesel && sql.to_uppercase().contains(" CONCURRENTLY ");
        if *outside || concurrently {
            sql = format!("-- no-transaction\n{sql}");
        }
        std::fs::write(to.join(format!("V{}__{name}.sql", n + 1)), sql)?;
    }
    Ok(sources.len())
}

/// Returns a refinery name for `<version>_<name>`: the part after the version, with every
/// character that is not a letter, digit or underscore made an underscore.
fn name_after_version(stem: &str) -> String {
    let name = stem.split_once('_').map_or(stem, |(_, name)| name);
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if name.is_empty() {
        "migration".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_each_format_into_numbered_files() {
        let root = std::env::temp_dir().join(format!("sdm-convert-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("diesel/2019-02-26-002946_create-user/up.sql", "CREATE TABLE u ();");
        write("diesel/2019-02-26-002946_create-user/down.sql", "DROP TABLE u;");
        write("diesel/2020-01-01-000000_index/up.sql", "CREATE INDEX CONCURRENTLY i ON u ((1));");
        write("diesel/2020-01-01-000000_index/metadata.toml", "run_in_transaction = false\n");
        write("diesel/20191231000000_between/up.sql", "SELECT 1;");
        write("diesel/notes.txt", "notes");
        assert_eq!(convert(&root.join("diesel"), Format::Diesel, &root.join("out1"), &[]).unwrap(), 3);
        assert_eq!(std::fs::read_to_string(root.join("out1/V1__create_user.sql")).unwrap(), "CREATE TABLE u ();");
        assert_eq!(std::fs::read_to_string(root.join("out1/V2__between.sql")).unwrap(), "SELECT 1;");
        assert!(std::fs::read_to_string(root.join("out1/V3__index.sql")).unwrap().starts_with("-- no-transaction\n"));

        write("go/00_init.up.sql", "CREATE TABLE {{ ns }}.u ();");
        write("go/00_init.down.sql", "DROP TABLE {{ ns }}.u;");
        write("go/2021_more.up.sql", "CREATE INDEX CONCURRENTLY i ON {{ ns }}.u ((1));");
        assert_eq!(
            convert(&root.join("go"), Format::GolangMigrate, &root.join("out2"), &[("{{ ns }}", "auth")]).unwrap(),
            2
        );
        assert_eq!(std::fs::read_to_string(root.join("out2/V1__init.sql")).unwrap(), "CREATE TABLE auth.u ();");
        assert!(std::fs::read_to_string(root.join("out2/V2__more.sql")).unwrap().starts_with("-- no-transaction\n"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
