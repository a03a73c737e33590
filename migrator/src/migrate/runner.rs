//! Runs pending migrations under an advisory lock, each in one transaction with its history row
//! (or, marked `-- no-transaction`, statement by statement; see `no_transaction`).

use std::time::Instant;

use postgres::Client;

use std::time::Duration;

use super::adopt::{self, Adoption};
use super::follow::{self, FollowedSquash};
use super::locks::{self, LockPolicy, LOCK_TIMEOUT_MARKER};
use super::session::{self, Marks};
use super::transactions::{self, Plan};
use super::{history, no_transaction, one_transaction};
use crate::migrations::{MigrationFile, MigrationSet};
use crate::{Error, Result};

/// Keys the advisory lock every runner holds for a whole run, so concurrent runners take turns.
pub const MIGRATION_LOCK_KEY: i64 = 0x5344_4d5f_4d49_4752; // "SDM_MIGR"

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
    /// What another tool had applied, recorded as ours before anything else (see [`Adoption`]).
    pub adopted: Option<Adoption>,
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

/// How a run waits for locks, where it holds the migration lock, and what it says while it waits.
pub struct RunOptions {
    /// How long each migration waits for a lock, and how often it is tried again.
    pub locks: LockPolicy,
    /// A second connection to the same database, which holds the migration lock (so that nothing
    /// a migration runs, `DISCARD ALL` or `pg_advisory_unlock_all()`, can release it) and looks up
    /// who holds a lock a migration waits for. Without one, the migration's own connection holds
    /// the lock and the run stops if a migration released it.
    pub lock_connection: Option<Client>,
    /// Told what the run does beyond applying, as it happens: each time a migration timed out on
    /// a lock and will be tried again (with whom it waited behind), a no-transaction file that
    /// resumes part-way.
    pub report: Box<dyn FnMut(&str)>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { locks: LockPolicy::default(), lock_connection: None, report: Box::new(|_| {}) }
    }
}

/// Applies pending migrations like [`run`], as `options` say: with their lock policy, the
/// migration lock on their second connection, and each wait for a lock told to `report`.
///
/// Fails with [`Error::LockTimeout`] when a migration could not get a lock in any of its tries,
/// naming the sessions it waited behind; what that migration did is rolled back.
///
/// ```no_run
/// use migrator::migrate::{run_with, RunOptions};
/// let set = migrator::migrations::MigrationSet::from_dir(std::path::Path::new("migrations"))?;
/// let url = "postgres://localhost/sdm";
/// let options = RunOptions {
///     lock_connection: Some(migrator::db::connect(url)?),
///     report: Box::new(|note| eprintln!("{note}")),
///     ..RunOptions::default()
/// };
/// run_with(&mut migrator::db::connect(url)?, &set, options)?;
/// # Ok::<(), migrator::Error>(())
/// ```
pub fn run_with(client: &mut Client, set: &MigrationSet, options: RunOptions) -> Result<MigrationRun> {
    run_locked(client, set, options, &mut |_, _| Ok(()))
}

fn run_each(
    client: &mut Client,
    set: &MigrationSet,
    after_each: &mut dyn FnMut(&mut Client, &MigrationFile) -> Result<()>,
) -> Result<MigrationRun> {
    run_locked(client, set, RunOptions::default(), after_each)
}

fn run_locked(
    client: &mut Client,
    set: &MigrationSet,
    options: RunOptions,
    after_each: &mut dyn FnMut(&mut Client, &MigrationFile) -> Result<()>,
) -> Result<MigrationRun> {
    let pid: i32 = client.query_one("SELECT pg_catalog.pg_backend_pid()", &[])?.get(0);
    let mut runner =
        Runner { locks: options.locks, lock: options.lock_connection, report: options.report, pid, marks: None };
    runner.lock_client(client).execute("SELECT pg_catalog.pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])?;
    let result = runner
        .check_lock(client, "right after it was taken")
        .and_then(|()| apply_pending(client, &mut runner, set, after_each));
    // A broken connection has released the session lock already; report the run's own error.
    let unlocked =
        runner.lock_client(client).execute("SELECT pg_catalog.pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY]);
    let _ = session::clear(client);
    let applied = result?;
    unlocked?;
    Ok(applied)
}

fn apply_pending(
    client: &mut Client,
    runner: &mut Runner,
    set: &MigrationSet,
    after_each: &mut dyn FnMut(&mut Client, &MigrationFile) -> Result<()>,
) -> Result<MigrationRun> {
    runner.reset(client)?;
    // A database with no history of ours may hold the history of the tool the set was imported from.
    let adopted = match &set.import {
        Some(record) if history::read(client)?.is_empty() => adopt::adopt(client, set, record)?,
        _ => None,
    };
    // Only a database that already has a history can be behind a squash.
    let followed = if history::read(client)?.is_empty() {
        Vec::new()
    } else {
        let table = history::create(client)?;
        follow::follow(client, &table, set, &mut |client, file| {
            runner.apply(client, file, &transactions::plan(file)?, &table)
        })?
    };
    let applied_rows = history::read(client)?;
    history::check(&applied_rows, set).map_err(|e| history::explain_behind(client, &applied_rows, set, e))?;
    let pending: Vec<&MigrationFile> =
        set.files.iter().filter(|f| !applied_rows.iter().any(|h| h.version == f.version)).collect();
    // Every pending file is judged before the first one runs, so a refusal applies nothing.
    let plans = pending.iter().map(|file| transactions::plan(file)).collect::<Result<Vec<_>>>()?;
    for file in &pending {
        runner.locks.timeout_for(file)?;
    }
    let table = history::create(client)?;

    let mut applied = Vec::new();
    for (file, plan) in pending.into_iter().zip(plans) {
        let started = Instant::now();
        runner.apply(client, file, &plan, &table)?;
        applied.push(AppliedMigration {
            version: file.version,
            name: file.name.clone(),
            millis: started.elapsed().as_secs_f64() * 1e3,
        });
        runner.check_lock(client, &format!("while {} ran", file.label()))?;
        runner.reset(client)?;
        after_each(client, file)?;
    }
    Ok(MigrationRun { followed, applied, adopted })
}

/// What a run keeps from one migration to the next.
pub(super) struct Runner {
    locks: LockPolicy,
    lock: Option<Client>,
    report: Box<dyn FnMut(&str)>,
    /// The backend of the migration's connection.
    pid: i32,
    /// The session's progress sequences, kept from one migration to the next.
    marks: Option<Marks>,
}

impl Runner {
    /// Returns the connection that holds the migration lock.
    fn lock_client<'a>(&'a mut self, client: &'a mut Client) -> &'a mut Client {
        self.lock.as_mut().unwrap_or(client)
    }

    /// Resets the session to a fresh connection's state, keeping the progress sequences if it can.
    fn reset(&mut self, client: &mut Client) -> Result<()> {
        self.marks = session::reset(client, self.marks.take())?;
        Ok(())
    }

    /// Fails when the migration lock is no longer held by the session that took it.
    fn check_lock(&mut self, client: &mut Client, when: &str) -> Result<()> {
        let own = self.lock.is_some();
        let held: bool = self.lock_client(client).query_one(HOLDS_LOCK, &[&MIGRATION_LOCK_KEY])?.get(0);
        if held {
            return Ok(());
        }
        let why = if own {
            "the connection that took it no longer holds it, which happens when a transaction-pooling PgBouncer \
             (pool_mode=transaction) hands each statement to another server session: migrate through a session \
             pooler or straight to Postgres"
        } else {
            "a statement of the migration released it (DISCARD ALL, pg_advisory_unlock_all(), \
             pg_advisory_unlock(...)), so another runner could have started meanwhile: remove that statement, \
             then migrate again (what is applied stays applied)"
        };
        Err(Error::LockLost { when: when.to_string(), why: why.to_string() })
    }

    /// Runs one migration as `plan` says (in one transaction, or statement by statement) and
    /// records it in `table`, from a fresh session, trying again after a lock timeout.
    pub(super) fn apply(&mut self, client: &mut Client, file: &MigrationFile, plan: &Plan, table: &str) -> Result<()> {
        let timeout = self.locks.timeout_for(file)?;
        match plan {
            Plan::OneTransaction(sql) => {
                let insert = history::insert_sql(table, file)?;
                let unmarkable = session::may_drop_marks(sql);
                let mut kept = self.marks.take();
                let result = self.retrying(client, file, timeout, "", &mut |client| {
                    kept = session::reset(client, kept.take())?;
                    let marks = kept.filter(|_| !unmarkable);
                    one_transaction::apply(client, file, sql, &insert, timeout, marks)
                });
                self.marks = kept;
                result
            }
            Plan::NoTransaction(spans) => {
                self.reset(client)?;
                no_transaction::apply(self, client, file, spans, table, timeout)
            }
        }
    }

    /// Tells the caller something the run does beyond applying (a file resumed part-way).
    pub(super) fn tell(&mut self, text: &str) {
        (self.report)(text);
    }

    /// Runs `work` until it does not time out on a lock, at most `1 + retries` times, waiting
    /// longer each time and telling each wait; `what` names the part of `file` that runs.
    pub(super) fn retrying(
        &mut self,
        client: &mut Client,
        file: &MigrationFile,
        timeout: Duration,
        what: &str,
        work: &mut dyn FnMut(&mut Client) -> Result<()>,
    ) -> Result<()> {
        let started = Instant::now();
        let mut tries = 0;
        // The sessions last seen blocking it: a try whose short wait the watcher missed (a busy
        // machine may not run it in time) keeps what an earlier try saw.
        let mut blockers = Vec::new();
        loop {
            tries += 1;
            let watched = self.lock.is_some();
            let (result, seen) = locks::watched(client, self.lock.as_mut(), self.pid, timeout, &mut *work);
            let Err(Error::LockTimeout { message: state, .. }) = result else { return result };
            if !seen.is_empty() {
                blockers = seen;
            }
            let behind = locks::describe_blockers(&blockers, watched);
            if tries > self.locks.retries {
                let end = match blockers.as_slice() {
                    [] => "`SELECT pg_terminate_backend(<pid>);`".to_string(),
                    some => some
                        .iter()
                        .map(|b| format!("`SELECT pg_terminate_backend({});`", b.pid))
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                return Err(Error::LockTimeout {
                    name: format!("{}{what}", file.label()),
                    path: file.path.clone(),
                    message: format!(
                        "within its lock_timeout of {} in {tries} tries over {:.1} s, {state}; it waited behind \
                         {behind}. Let that session finish (or end it: {end}), then \
                         migrate again; a migration that may wait longer says so in its first lines \
                         (`{LOCK_TIMEOUT_MARKER} 5s`), a whole run with --lock-timeout or SDM_LOCK_TIMEOUT",
                        locks::describe(timeout),
                        started.elapsed().as_secs_f64()
                    ),
                });
            }
            let wait = self.locks.backoff(tries);
            (self.report)(&format!(
                "{}{what} waited {} for a lock and was rolled back (try {tries} of {}); it waited behind {behind}; \
                 trying again in {:.1} s",
                file.label(),
                locks::describe(timeout),
                self.locks.retries + 1,
                wait.as_secs_f64()
            ));
            std::thread::sleep(wait);
        }
    }
}

/// Whether this session holds the migration lock (classid and objid are the key's two halves).
const HOLDS_LOCK: &str = "SELECT EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory' \
     AND pid = pg_catalog.pg_backend_pid() AND granted AND objsubid = 1 \
     AND ((classid::int8 << 32) | objid::int8) = $1)";
