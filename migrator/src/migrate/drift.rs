//! Drift: whether a migrated database still has the schema its migrations give, compared with
//! the schema the lock file records (`sdm check`).
//!
//! The comparison reads the catalogs (see [`crate::schema`]), so it runs wherever `sdm` runs.

use std::path::PathBuf;

use postgres::Client;

use super::status::{status_and_check, MigrationState};
use crate::migrations::{MigrationSet, LOCK_COMMAND, LOCK_FILE};
use crate::schema::Difference;
use crate::{Error, Result};

/// How a database's schema compares with the one its migrations give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// The record compared with, e.g. `migrations/migrations.lock.json`.
    pub record: PathBuf,
    /// How many objects the record expects.
    pub expected_objects: usize,
    /// What differs, object by object; empty when the schema is the expected one.
    pub differences: Vec<Difference>,
}

/// Compares the schema of `client`'s database with the one `set`'s lock file records.
///
/// Fails, naming what to do, when the set has no lock file or one for other migrations, or when
/// the database has not applied exactly the set's migrations (a pending migration, another
/// version of one, a replaced chain): then there is nothing to compare with yet.
///
/// ```no_run
/// let set = migrator::migrations::MigrationSet::from_dir(std::path::Path::new("migrations"))?;
/// let mut client = migrator::db::connect("postgres://localhost/sdm")?;
/// let drift = migrator::migrate::drift(&mut client, &set)?;
/// for difference in &drift.differences {
///     println!("{difference}");
/// }
/// # Ok::<(), migrator::Error>(())
/// ```
pub fn drift(client: &mut Client, set: &MigrationSet) -> Result<Drift> {
    let Some(lock) = &set.lock else {
        return Err(Error::Invalid(format!(
            "these migrations have no expected schema ({LOCK_FILE} is missing next to them): run `{LOCK_COMMAND}`, \
             commit the file and rebuild"
        )));
    };
    if let Some(mismatch) = lock.mismatches(&set.files).first() {
        return Err(Error::Invalid(format!(
            "{} does not belong to these migrations ({mismatch}): run `{LOCK_COMMAND}`, commit the file and rebuild",
            lock.path.display()
        )));
    }
    let (statuses, verdict) = status_and_check(client, set)?;
    verdict?;
    if let Some(squash) = statuses.iter().find_map(|s| match s.state {
        MigrationState::Squashed { squash } => Some(squash),
        _ => None,
    }) {
        return Err(Error::Invalid(format!(
            "this database has the chain squash {squash} replaced: run `sdm migrate`, which compares its schema with \
             that chain's before it records the squashed set, then check again"
        )));
    }
    let pending: Vec<String> = statuses
        .iter()
        .filter(|s| s.state == MigrationState::Pending)
        .map(|s| format!("V{}__{}", s.version, s.name))
        .collect();
    if !pending.is_empty() {
        return Err(Error::Invalid(format!(
            "this database has not applied {} of its {} migrations ({}): run `sdm migrate` first; the recorded schema \
             is the one all of them give",
            pending.len(),
            set.files.len(),
            pending.join(", ")
        )));
    }
    let live = super::follow::live_schema(client, set)?;
    Ok(Drift {
        record: lock.path.clone(),
        expected_objects: lock.schema.objects.len(),
        differences: lock.schema.diff(&live),
    })
}
