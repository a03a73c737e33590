//! Where each migration stands in a database, and the Django-style `showmigrations` listing.

use postgres::Client;

use super::history;
use crate::migrations::{MigrationSet, MODULES};
use crate::Result;

/// Where one migration stands in a database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration's version.
    pub version: i32,
    /// The migration's name (for a missing file, the name the database recorded).
    pub name: String,
    /// The module folder its file is in; `None` for a flat folder or a missing file.
    pub module: Option<String>,
    /// When it was applied (refinery's RFC 3339 text), `None` when it is not applied.
    pub applied_on: Option<String>,
    /// The database recorded it as applied but no file has its version.
    pub missing_file: bool,
}

/// Returns every migration of `set` with when it was applied, plus applied rows that lost their file.
///
/// Reads only; a database without a history table has applied nothing.
///
/// ```no_run
/// let set = app::migrations::MigrationSet::embedded()?;
/// let mut client = app::db::connect("postgres://localhost/sdm")?;
/// print!("{}", app::migrate::show_migrations(&app::migrate::status(&mut client, &set)?));
/// # Ok::<(), app::Error>(())
/// ```
pub fn status(client: &mut Client, set: &MigrationSet) -> Result<Vec<MigrationStatus>> {
    let history = history::read(client)?;
    let mut statuses: Vec<MigrationStatus> = set
        .files
        .iter()
        .map(|file| MigrationStatus {
            version: file.version,
            name: file.name.clone(),
            module: file.module.clone(),
            applied_on: history.iter().find(|h| h.version == file.version).map(|h| h.applied_on.clone()),
            missing_file: false,
        })
        .collect();
    for row in history.iter().filter(|h| set.get(h.version).is_none()) {
        statuses.push(MigrationStatus {
            version: row.version,
            name: row.name.clone(),
            module: None,
            applied_on: Some(row.applied_on.clone()),
            missing_file: true,
        });
    }
    statuses.sort_by_key(|s| s.version);
    Ok(statuses)
}

/// Formats statuses like Django's `showmigrations`: one block per module, `[X]` when applied.
///
/// Modules come in [`MODULES`] order (a flat folder's migrations under `migrations`), migrations
/// in version order; an applied migration without a file is marked `(no file)`.
pub fn show_migrations(statuses: &[MigrationStatus]) -> String {
    let group = |s: &MigrationStatus| s.module.clone().unwrap_or_else(|| "migrations".to_string());
    let rank = |g: &str| MODULES.iter().position(|m| *m == g).unwrap_or(MODULES.len());
    let mut groups: Vec<String> = statuses.iter().map(group).collect();
    groups.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    groups.dedup();

    let mut out = String::new();
    for g in groups {
        out.push_str(&g);
        out.push('\n');
        let mut members: Vec<&MigrationStatus> = statuses.iter().filter(|s| group(s) == g).collect();
        members.sort_by_key(|s| s.version);
        for s in members {
            let mark = if s.applied_on.is_some() { 'X' } else { ' ' };
            let note = if s.missing_file { "  (no file)" } else { "" };
            out.push_str(&format!(" [{mark}] V{}__{}{note}\n", s.version, s.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_migrations_grouped_by_module() {
        let s = |version, name: &str, module: Option<&str>, applied: bool, missing_file| MigrationStatus {
            version,
            name: name.into(),
            module: module.map(str::to_string),
            applied_on: applied.then(|| "2024-01-01T00:00:00Z".to_string()),
            missing_file,
        };
        let statuses = [
            s(3, "journeys_initial", Some("journeys"), false, false),
            s(2, "evidence_initial", Some("evidence"), false, false),
            s(1, "users_initial", Some("users"), true, false),
            s(4, "users_more", Some("users"), false, false),
        ];
        assert_eq!(
            show_migrations(&statuses),
            "users\n [X] V1__users_initial\n [ ] V4__users_more\nevidence\n [ ] V2__evidence_initial\njourneys\n [ ] V3__journeys_initial\n"
        );
        let flat = [s(2, "b", None, false, false), s(1, "a", None, true, false), s(9, "gone", None, true, true)];
        assert_eq!(show_migrations(&flat), "migrations\n [X] V1__a\n [ ] V2__b\n [X] V9__gone  (no file)\n");
    }
}
