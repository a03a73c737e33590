//! Where each migration stands in a database, and the Django-style `showmigrations` listing.
//!
//! A migration is applied only when the database recorded that migration: its version, its name
//! and its checksum. A version recorded with another name or checksum is flagged, and so is an
//! applied migration without a file. A database migrated with a chain that a squash replaced is
//! shown as such: that chain as it applied it, and the squashed set `sdm migrate` records.

use postgres::Client;

use super::follow::{self, Position};
use super::history::{self, HistoryRow};
use crate::migrations::{MigrationSet, SquashRecord};
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
    /// When the database applied exactly this migration (refinery's RFC 3339 text), else `None`.
    pub applied_on: Option<String>,
    /// The database recorded it as applied but no file has its version.
    pub missing_file: bool,
    /// Where it stands, in detail.
    pub state: MigrationState,
}

/// Where a migration stands, as `showmigrations` marks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MigrationState {
    /// `[X]`: the database applied this migration (same version, name and checksum).
    Applied,
    /// `[ ]`: not applied yet.
    Pending,
    /// `[!]`: the database recorded this version for another migration or another version of the file.
    Changed {
        /// The label the database recorded, e.g. `V4__users_display_name`.
        recorded: String,
        /// The checksum it recorded.
        recorded_checksum: Option<String>,
        /// The file's checksum.
        checksum: u64,
    },
    /// `[!]`: applied, but no file has its version.
    MissingFile,
    /// `[=]`: squashed; the database applied the chain it replaced, and `sdm migrate` records it
    /// without running it.
    Squashed {
        /// The squash that wrote it.
        squash: u32,
    },
    /// A migration of a chain a squash replaced: `[X]` applied, `[ ]` not, `[!]` another version.
    Replaced {
        /// The squash that replaced it.
        squash: u32,
        /// Whether the database applied it.
        applied: bool,
        /// Whether what it applied has the recorded checksum.
        same: bool,
    },
}

impl MigrationState {
    /// Returns the mark `showmigrations` prints between brackets.
    pub fn mark(&self) -> char {
        match self {
            MigrationState::Applied | MigrationState::Replaced { applied: true, same: true, .. } => 'X',
            MigrationState::Pending | MigrationState::Replaced { applied: false, .. } => ' ',
            MigrationState::Squashed { .. } => '=',
            _ => '!',
        }
    }

    /// Whether the state is one `sdm migrate` refuses.
    pub fn is_flagged(&self) -> bool {
        self.mark() == '!'
    }
}

/// Returns every migration of `set` with where it stands, plus applied rows that lost their file
/// and, for a database migrated with a chain a squash replaced, that chain's rows.
///
/// Reads only; a database without a history table has applied nothing.
///
/// ```no_run
/// let set = migrator::migrations::MigrationSet::from_dir(std::path::Path::new("migrations"))?;
/// let mut client = migrator::db::connect("postgres://localhost/sdm")?;
/// print!("{}", migrator::migrate::show_migrations(&migrator::migrate::status(&mut client, &set)?));
/// # Ok::<(), migrator::Error>(())
/// ```
pub fn status(client: &mut Client, set: &MigrationSet) -> Result<Vec<MigrationStatus>> {
    Ok(statuses(&history::read(client)?, set))
}

/// Returns [`status`] and [`check_history`]'s verdict from one read of the history, so that the
/// list and the refusal describe the same moment.
pub fn status_and_check(client: &mut Client, set: &MigrationSet) -> Result<(Vec<MigrationStatus>, Result<()>)> {
    let history = history::read(client)?;
    let verdict = check(client, &history, set);
    Ok((statuses(&history, set), verdict))
}

/// The statuses of `set`'s migrations against `history`, by version (a replaced chain after).
fn statuses(history: &[HistoryRow], set: &MigrationSet) -> Vec<MigrationStatus> {
    let mut statuses = match follow::position(history, set) {
        Position::Current => current(history, set),
        Position::Replaced(record) | Position::Behind(record, _) => replaced(history, set, record, true),
        Position::Refused(record, _, _) => replaced(history, set, record, false),
    };
    statuses.sort_by_key(|s| (matches!(s.state, MigrationState::Replaced { .. }), s.version));
    statuses
}

/// Fails as `sdm migrate` would on this database, without changing it: a history that does not
/// match the files, or a replaced chain the database cannot follow (its schema compared too).
pub fn check_history(client: &mut Client, set: &MigrationSet) -> Result<()> {
    let history = history::read(client)?;
    check(client, &history, set)
}

/// [`check_history`] on history rows already read.
fn check(client: &mut Client, history: &[HistoryRow], set: &MigrationSet) -> Result<()> {
    match follow::position(history, set) {
        Position::Current => history::check(history, set).map_err(|e| history::explain_behind(client, history, set, e)),
        position => follow::check(client, set, position),
    }
}

fn current(history: &[HistoryRow], set: &MigrationSet) -> Vec<MigrationStatus> {
    let mut statuses: Vec<MigrationStatus> = set
        .files
        .iter()
        .map(|file| {
            let row = history.iter().find(|h| h.version == file.version);
            let state = match row {
                None => MigrationState::Pending,
                Some(row) if row.is(file) => MigrationState::Applied,
                Some(row) => MigrationState::Changed {
                    recorded: row.label(),
                    recorded_checksum: row.checksum.clone(),
                    checksum: file.checksum(),
                },
            };
            MigrationStatus {
                version: file.version,
                name: file.name.clone(),
                module: file.module.clone(),
                applied_on: row.filter(|_| state == MigrationState::Applied).map(|row| row.applied_on.clone()),
                missing_file: false,
                state,
            }
        })
        .collect();
    for row in history.iter().filter(|h| set.get(h.version).is_none()) {
        statuses.push(MigrationStatus {
            version: row.version,
            name: row.name.clone(),
            module: None,
            applied_on: Some(row.applied_on.clone()),
            missing_file: true,
            state: MigrationState::MissingFile,
        });
    }
    statuses
}

/// Statuses for a database whose history is (part of) the chain `record` replaced; `follows`
/// says whether `sdm migrate` moves it onto the squashed set.
fn replaced(history: &[HistoryRow], set: &MigrationSet, record: &SquashRecord, follows: bool) -> Vec<MigrationStatus> {
    let squashed_by = set.last_squash().filter(|_| follows);
    let mut statuses: Vec<MigrationStatus> = set
        .files
        .iter()
        .map(|file| {
            let squash = squashed_by.filter(|last| last.squashed.iter().any(|m| m.is(file))).map(|last| last.squash);
            MigrationStatus {
                version: file.version,
                name: file.name.clone(),
                module: file.module.clone(),
                applied_on: None,
                missing_file: false,
                state: squash.map_or(MigrationState::Pending, |squash| MigrationState::Squashed { squash }),
            }
        })
        .collect();
    for m in &record.replaced {
        let row = history.iter().find(|h| h.version == m.version);
        statuses.push(MigrationStatus {
            version: m.version,
            name: m.name.clone(),
            module: m.path.split_once('/').map(|(module, _)| module.to_string()),
            applied_on: row.map(|row| row.applied_on.clone()),
            missing_file: false,
            state: MigrationState::Replaced {
                squash: record.squash,
                applied: row.is_some(),
                same: row.is_none_or(|row| row.checksum.as_deref() == Some(m.checksum.as_str())),
            },
        });
    }
    statuses
}

/// Formats statuses like Django's `showmigrations`: one block per module, `[X]` when applied.
///
/// Modules come in the order of their first migration (a flat folder's migrations under
/// `migrations`; in a folder of modules, applied migrations no file has under `applied, not in
/// this checkout`), migrations
/// in version order. A replaced chain follows in a block of its own. Marks other than `[X]` and
/// `[ ]` are explained on the line or at the end.
pub fn show_migrations(statuses: &[MigrationStatus]) -> String {
    let is_replaced = |s: &MigrationStatus| matches!(s.state, MigrationState::Replaced { .. });
    // An applied migration with no file has no module; in a folder of modules it is not one of
    // the flat folder's `migrations` either.
    let modular = statuses.iter().any(|s| s.module.is_some());
    let group = |s: &MigrationStatus| match (&s.module, &s.state) {
        (Some(module), _) => module.clone(),
        (None, MigrationState::MissingFile) if modular => "applied, not in this checkout".to_string(),
        (None, _) => "migrations".to_string(),
    };
    let rank = |g: &str| statuses.iter().filter(|s| !is_replaced(s) && group(s) == g).map(|s| s.version).min();
    let mut groups: Vec<String> = statuses.iter().filter(|s| !is_replaced(s)).map(group).collect();
    groups.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    groups.dedup();

    let mut out = String::new();
    for g in groups {
        out.push_str(&g);
        out.push('\n');
        let mut members: Vec<&MigrationStatus> = statuses.iter().filter(|s| !is_replaced(s) && group(s) == g).collect();
        members.sort_by_key(|s| s.version);
        for s in members {
            out.push_str(&line(s));
        }
    }
    let replaced: Vec<&MigrationStatus> = statuses.iter().filter(|s| is_replaced(s)).collect();
    if let Some(MigrationState::Replaced { squash, .. }) = replaced.first().map(|s| &s.state) {
        let applied =
            replaced.iter().filter(|s| matches!(s.state, MigrationState::Replaced { applied: true, .. })).count();
        out.push_str(&format!(
            "replaced by squash {squash} ({applied} of its {} migrations applied here):\n",
            replaced.len()
        ));
        for s in replaced {
            out.push_str(&line(s));
        }
    }
    if statuses.iter().any(|s| matches!(s.state, MigrationState::Squashed { .. })) {
        out.push_str(
            "[=] squashed: this database applied the chain they replaced; `sdm migrate` records them without running them\n",
        );
    }
    out
}

fn line(s: &MigrationStatus) -> String {
    let note = match &s.state {
        MigrationState::Changed { recorded, recorded_checksum, checksum } if *recorded == label(s) => format!(
            "  (the database applied another version of it: checksum {}, the file's is {checksum})",
            recorded_checksum.as_deref().unwrap_or("(none)")
        ),
        MigrationState::Changed { recorded, .. } => {
            format!("  (the database applied {recorded} as version {})", s.version)
        }
        MigrationState::MissingFile => "  (applied, but no file has this version)".to_string(),
        MigrationState::Replaced { same: false, .. } => "  (the database applied another version of it)".to_string(),
        _ => String::new(),
    };
    format!(" [{}] {}{note}\n", s.state.mark(), label(s))
}

fn label(s: &MigrationStatus) -> String {
    format!("V{}__{}", s.version, s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(version: i32, name: &str, module: Option<&str>, state: MigrationState) -> MigrationStatus {
        let applied = matches!(state, MigrationState::Applied | MigrationState::MissingFile);
        MigrationStatus {
            version,
            name: name.into(),
            module: module.map(str::to_string),
            applied_on: applied.then(|| "2024-01-01T00:00:00Z".to_string()),
            missing_file: state == MigrationState::MissingFile,
            state,
        }
    }

    #[test]
    fn shows_migrations_grouped_by_module() {
        use MigrationState::*;
        let statuses = [
            s(3, "journeys_initial", Some("journeys"), Pending),
            s(2, "evidence_initial", Some("evidence"), Pending),
            s(1, "users_initial", Some("users"), Applied),
            s(4, "users_more", Some("users"), Pending),
        ];
        assert_eq!(
            show_migrations(&statuses),
            "users\n [X] V1__users_initial\n [ ] V4__users_more\nevidence\n [ ] V2__evidence_initial\njourneys\n [ ] V3__journeys_initial\n"
        );
        let changed = Changed { recorded: "V2__b".into(), recorded_checksum: Some("1".into()), checksum: 2 };
        let other = Changed { recorded: "V3__x".into(), recorded_checksum: Some("1".into()), checksum: 2 };
        let flat = [
            s(2, "b", None, changed),
            s(1, "a", None, Applied),
            s(9, "gone", None, MissingFile),
            s(3, "c", None, other),
        ];
        assert_eq!(
            show_migrations(&flat),
            "migrations\n [X] V1__a\n [!] V2__b  (the database applied another version of it: checksum 1, the file's is 2)\n \
             [!] V3__c  (the database applied V3__x as version 3)\n [!] V9__gone  (applied, but no file has this version)\n"
        );
        assert!(flat.iter().filter(|s| s.state.is_flagged()).count() == 3);
        let behind = [s(1, "users_initial", Some("users"), Applied), s(9, "users_later", None, MissingFile)];
        assert_eq!(
            show_migrations(&behind),
            "users\n [X] V1__users_initial\napplied, not in this checkout\n [!] V9__users_later  (applied, but no file has this version)\n"
        );
    }

    #[test]
    fn shows_a_replaced_chain_under_the_squashed_set() {
        use MigrationState::*;
        let replaced = |applied, same| Replaced { squash: 1, applied, same };
        let statuses = [
            s(1, "users_initial", Some("users"), Squashed { squash: 1 }),
            s(1, "users_initial", Some("users"), replaced(true, true)),
            s(2, "users_email", Some("users"), replaced(true, false)),
            s(3, "users_name", Some("users"), replaced(false, true)),
        ];
        let shown = show_migrations(&statuses);
        assert_eq!(
            shown,
            "users\n [=] V1__users_initial\nreplaced by squash 1 (2 of its 3 migrations applied here):\n [X] V1__users_initial\n \
             [!] V2__users_email  (the database applied another version of it)\n [ ] V3__users_name\n\
             [=] squashed: this database applied the chain they replaced; `sdm migrate` records them without running them\n"
        );
    }
}
