//! Runs pending migrations under an advisory lock, each in one transaction with its history row
//! (or, marked `-- no-transaction`, statement by statement; see `no_transaction`).

use std::time::Instant;

use postgres::Client;

use super::follow::{self, FollowedSquash};
use super::transactions::{self, Plan};
use super::{diagnosis, history, no_transaction, statements};
use crate::migrations::{MigrationFile, MigrationSet};
use crate::{Error, Result};

/// Keys the advisory lock every runner holds for a whole run, so concurrent runners take turns.
pub const MIGRATION_LOCK_KEY: i64 = 0x5344_4d5f_4d49_4752; // "SDM_MIGR"

/// Opens each migration's transaction, sent in the same round trip as its SQL.
const BEGIN: &str = "BEGIN;\n";

/// Ends the migration's last statement before the history row: the newline closes a trailing
/// `--` comment, the `;` a statement without one.
const AFTER_SQL: &str = "\n;\n";

/// A migration this run applied.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedMigration {
    /// The migration's version, e.g. `1` for `V1__users_initial`.
    pub version: i32,
    /// The migration's name, e.g. `users_initial`.
    pub name: String,
    /// Wall time of the migration's transaction, in milliseconds.
    pub millis: f64,
}

/// What one run did: the squashes it followed, then the migrations it applied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MigrationRun {
    /// Squashes whose replaced chain the database had applied, which it now records as squashed.
    pub followed: Vec<FollowedSquash>,
    /// The migrations applied after that, in version order.
    pub applied: Vec<AppliedMigration>,
}

/// Applies pending migrations like [`migrate`], first moving a database migrated with a chain a
/// squash replaced onto the squashed set (see [`FollowedSquash`]), and says what it did.
///
/// Fails with [`Error::SquashNotFollowed`], changing nothing, when such a database stopped
/// part-way through the replaced chain, applied another version of one of its migrations, or
/// has another schema than the chain builds.
///
/// ```no_run
/// let set = migrator::migrations::MigrationSet::from_dir(std::path::Path::new("migrations"))?;
/// let mut client = migrator::db::connect("postgres://localhost/sdm")?;
/// let run = migrator::migrate::run(&mut client, &set)?;
/// for squash in &run.followed {
///     println!("{}", squash.describe().join("\n"));
/// }
/// # Ok::<(), migrator::Error>(())
/// ```
pub fn run(client: &mut Client, set: &MigrationSet) -> Result<MigrationRun> {
    run_each(client, set, &mut |_, _| Ok(()))
}

/// Applies every migration of `set` that `client`'s database has not applied yet, in version order.
///
/// Each migration runs in its own transaction together with its history row, so a failure leaves
/// nothing of it behind; a file whose first line is `-- no-transaction` runs statement by
/// statement instead, and is recorded after its last statement succeeded. Concurrent runners wait
/// for each other. Fails with [`Error::MigrationFailed`] (file, line, column and Postgres's
/// message) when SQL fails ([`Error::StatementFailed`] without a transaction), with
/// [`Error::MigrationRefused`], before anything runs, when a pending file commits or opens
/// transactions itself, with [`Error::MigrationChanged`] or [`Error::MigrationMissing`] when an
/// applied migration's file was changed or removed, with [`Error::OutOfOrder`] when a new file
/// sorts below applied ones, and with [`Error::ConnectionLost`] when the server went away.
///
/// ```no_run
/// let set = migrator::migrations::MigrationSet::from_dir(std::path::Path::new("migrations"))?;
/// let mut client = migrator::db::connect("postgres://localhost/sdm")?;
/// for m in migrator::migrate::migrate(&mut client, &set)? {
///     println!("applied V{}__{} in {:.1} ms", m.version, m.name, m.millis);
/// }
/// # Ok::<(), migrator::Error>(())
/// ```
pub fn migrate(client: &mut Client, set: &MigrationSet) -> Result<Vec<AppliedMigration>> {
    migrate_each(client, set, &mut |_, _| Ok(()))
}

/// Applies pending migrations like [`migrate`], calling `after_each` after each one has committed.
///
/// The hook runs while the run holds its lock, when one migration has committed and the next has
/// not begun, which no caller can arrange from outside; squash records which objects each
/// migration made with it. An error from `after_each` stops the run; the migrations committed so
/// far stay applied.
pub fn migrate_each(
    client: &mut Client,
    set: &MigrationSet,
    after_each: &mut dyn FnMut(&mut Client, &MigrationFile) -> Result<()>,
) -> Result<Vec<AppliedMigration>> {
    run_each(client, set, after_each).map(|run| run.applied)
}

fn run_each(
    client: &mut Client,
    set: &MigrationSet,
    after_each: &mut dyn FnMut(&mut Client, &MigrationFile) -> Result<()>,
) -> Result<MigrationRun> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])?;
    let result = apply_pending(client, set, after_each);
    // A broken connection has released the session lock already; report the run's own error.
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY]);
    let applied = result?;
    unlocked?;
    Ok(applied)
}

fn apply_pending(
    client: &mut Client,
    set: &MigrationSet,
    after_each: &mut dyn FnMut(&mut Client, &MigrationFile) -> Result<()>,
) -> Result<MigrationRun> {
    // Only a database that already has a history can be behind a squash.
    let followed = if history::read(client)?.is_empty() {
        Vec::new()
    } else {
        let table = history::create(client)?;
        follow::follow(client, &table, set, &mut |client, file| apply_file(client, file, &table))?
    };
    let applied_rows = history::read(client)?;
    history::check(&applied_rows, set)?;
    let pending: Vec<&MigrationFile> =
        set.files.iter().filter(|f| !applied_rows.iter().any(|h| h.version == f.version)).collect();
    // Every pending file is judged before the first one runs, so a refusal applies nothing.
    let plans = pending.iter().map(|file| transactions::plan(file)).collect::<Result<Vec<_>>>()?;
    let table = history::create(client)?;

    let mut applied = Vec::new();
    for (file, plan) in pending.into_iter().zip(plans) {
        let started = Instant::now();
        apply_planned(client, file, &plan, &table)?;
        applied.push(AppliedMigration {
            version: file.version,
            name: file.name.clone(),
            millis: started.elapsed().as_secs_f64() * 1e3,
        });
        after_each(client, file)?;
    }
    Ok(MigrationRun { followed, applied })
}

/// Judges one migration's transaction control, then runs and records it in `table`.
fn apply_file(client: &mut Client, file: &MigrationFile, table: &str) -> Result<()> {
    apply_planned(client, file, &transactions::plan(file)?, table)
}

/// Runs one migration as `plan` says: in one transaction, or statement by statement.
fn apply_planned(client: &mut Client, file: &MigrationFile, plan: &Plan, table: &str) -> Result<()> {
    match plan {
        Plan::OneTransaction(sql) => apply_one(client, file, sql, table),
        Plan::NoTransaction(statements) => no_transaction::apply(client, file, statements, table),
    }
}

/// Runs one migration (`sql`: its file's SQL as it is sent) and records it in `table`, in one
/// transaction and one round trip.
fn apply_one(client: &mut Client, file: &MigrationFile, sql: &str, table: &str) -> Result<()> {
    let insert = history::insert_sql(table, file)?;
    let result = if statements::split(sql).closed {
        // Quotes and comments are closed, so nothing in the file can swallow the history row or
        // the COMMIT.
        client.batch_execute(&format!("{BEGIN}{sql}{AFTER_SQL}{insert};\nCOMMIT;"))
    } else {
        // An unclosed quote or comment: let Postgres judge the file on its own.
        client
            .batch_execute(&format!("{BEGIN}{sql}"))
            .and_then(|()| client.batch_execute(&format!("{insert};\nCOMMIT;")))
    };
    let Err(error) = result else { return Ok(()) };
    if diagnosis::connection_lost(&error) {
        let state = format!(
            "{} and its history row are one transaction, so the database has all of it or none of it: once the \
             server is back, `sdm showmigrations` shows it as applied ([X]) if it committed, and `sdm migrate` runs \
             it again if it did not",
            file.label()
        );
        return Err(diagnosis::lost(file, &error, state));
    }
    // A failed COMMIT has rolled back already; ROLLBACK then only warns.
    let _ = client.batch_execute("ROLLBACK");
    let offset = diagnosis::char_offset(&error, sql, BEGIN.len());
    // Past the file and what ends its last statement: the history row failed.
    if offset.is_some_and(|o| o >= sql.chars().count() + AFTER_SQL.len()) {
        return Err(Error::HistoryWrite {
            label: file.label(),
            path: file.path.clone(),
            message: crate::db::report(&error),
        });
    }
    Err(diagnosis::sql_failure(client, file, sql, &error, offset))
}
