//! Keeps a migration from blocking production: it waits at most `lock_timeout` for each lock,
//! then rolls back, waits (exponential backoff with jitter) and tries again a bounded number of
//! times, and names the sessions it waited behind.
//!
//! A statement waiting for a lock queues every later query on that table behind it, so a
//! migration that waits forever stops the application with it; a short timeout and retries (as
//! pgroll, GitLab's `with_lock_retries` and strong_migrations do) cost the migration a few
//! seconds instead.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use postgres::Client;

use crate::migrations::MigrationFile;

/// How long a migration waits for one lock unless told otherwise: pgroll's default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_millis(500);

/// How many times a migration that timed out on a lock is tried again unless told otherwise;
/// with the backoff below, about half a minute in all.
pub const DEFAULT_LOCK_RETRIES: u32 = 6;

/// The comment line that sets one migration's lock timeout, e.g. `-- lock-timeout: 5s`.
pub const LOCK_TIMEOUT_MARKER: &str = "-- lock-timeout:";

/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(16);

/// How long a migration waits for locks, and how often it tries again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockPolicy {
    /// The longest wait for one lock; zero waits as long as it takes.
    pub lock_timeout: Duration,
    /// How many times a migration is tried again after it timed out on a lock.
    pub retries: u32,
}

impl Default for LockPolicy {
    fn default() -> Self {
        LockPolicy { lock_timeout: DEFAULT_LOCK_TIMEOUT, retries: DEFAULT_LOCK_RETRIES }
    }
}

impl LockPolicy {
    /// Returns the default policy with `SDM_LOCK_TIMEOUT` (e.g. `2s`) and `SDM_LOCK_RETRIES`
    /// applied, or says which is malformed.
    pub fn from_env() -> crate::Result<Self> {
        let mut policy = LockPolicy::default();
        if let Ok(text) = std::env::var("SDM_LOCK_TIMEOUT") {
            policy.lock_timeout =
                parse_duration(&text).map_err(|e| crate::Error::Invalid(format!("SDM_LOCK_TIMEOUT: {e}")))?;
        }
        if let Ok(text) = std::env::var("SDM_LOCK_RETRIES") {
            policy.retries = text.trim().parse().map_err(|_| {
                crate::Error::Invalid(format!("SDM_LOCK_RETRIES: `{text}` is not a whole number of retries"))
            })?;
        }
        Ok(policy)
    }

    /// Returns the policy with a command line's `--lock-timeout` and `--lock-retries` applied.
    pub fn with_flags(mut self, lock_timeout: Option<&str>, retries: Option<u32>) -> crate::Result<Self> {
        if let Some(text) = lock_timeout {
            self.lock_timeout =
                parse_duration(text).map_err(|e| crate::Error::Invalid(format!("--lock-timeout: {e}")))?;
        }
        if let Some(retries) = retries {
            self.retries = retries;
        }
        Ok(self)
    }

    /// Returns the lock timeout for `file`: its `-- lock-timeout:` line, else the policy's.
    pub(super) fn timeout_for(&self, file: &MigrationFile) -> crate::Result<Duration> {
        match file_lock_timeout(&file.sql) {
            None => Ok(self.lock_timeout),
            Some(Ok(timeout)) => Ok(timeout),
            Some(Err(message)) => Err(crate::Error::MigrationFile {
                path: file.path.clone(),
                message: format!("`{LOCK_TIMEOUT_MARKER}` line: {message}"),
            }),
        }
    }

    /// Returns how long to wait before try `attempt` (1 for the first retry): doubling from the
    /// lock timeout (at least 250 ms) up to 16 s, each wait drawn between half and all of it so
    /// that runners that timed out together do not come back together.
    pub(super) fn backoff(&self, attempt: u32) -> Duration {
        let base = self.lock_timeout.max(Duration::from_millis(250));
        let full = base.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(MAX_BACKOFF);
        let mut byte = [0u8; 1];
        let jitter = if getrandom::fill(&mut byte).is_ok() { f64::from(byte[0]) / 255.0 } else { 0.5 };
        full.mul_f64(0.5 + jitter / 2.0)
    }
}

/// Returns the value of `sql`'s `-- lock-timeout:` line among its leading comment lines, if it
/// has one.
fn file_lock_timeout(sql: &str) -> Option<Result<Duration, String>> {
    sql.lines()
        .map(str::trim)
        .take_while(|line| line.is_empty() || line.starts_with("--"))
        .find_map(|line| line.strip_prefix(LOCK_TIMEOUT_MARKER))
        .map(parse_duration)
}

/// Parses a duration as Postgres writes `lock_timeout`: a whole number with `ms`, `s` or `min`
/// (a bare number is milliseconds, as in Postgres); `0` means no limit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim().trim_matches('\'');
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration such as 500ms, 5s or 1min"))?;
    match unit.trim() {
        "" | "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "min" => Ok(Duration::from_secs(number * 60)),
        other => Err(format!("unit `{other}` in `{text}` is none of ms, s, min")),
    }
}

/// Returns `timeout` as a `lock_timeout` value for SQL, in milliseconds.
pub(super) fn sql_value(timeout: Duration) -> String {
    format!("'{}ms'", timeout.as_millis())
}

/// Returns `timeout` for people: `500 ms`, `5 s`, `no limit`.
pub(super) fn describe(timeout: Duration) -> String {
    match timeout.as_millis() {
        0 => "no limit".to_string(),
        ms if ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms => format!("{ms} ms"),
    }
}

/// A session that held a lock a migration waited for, as `pg_stat_activity` showed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocker {
    /// The session's backend process id.
    pub pid: i32,
    /// Its `application_name`.
    pub application_name: String,
    /// The role it logged in as.
    pub user: String,
    /// `active`, `idle in transaction`, ...
    pub state: String,
    /// Its current or last statement.
    pub query: String,
    /// When its transaction (else its connection) began, in UTC.
    pub since: String,
    /// How long ago that was, in seconds.
    pub seconds: f64,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let query: String = self.query.split_whitespace().collect::<Vec<_>>().join(" ");
        let query = if query.chars().count() > 200 {
            format!("{}...", query.chars().take(200).collect::<String>())
        } else {
            query
        };
        write!(
            f,
            "pid {} (application_name '{}', user {}, {}, in its transaction since {}, {:.1} s), running `{}`",
            self.pid, self.application_name, self.user, self.state, self.since, self.seconds, query
        )
    }
}

/// The sessions that hold what `pid` waits for, with what they run.
const BLOCKERS: &str = "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), \
     coalesce(a.state, ''), coalesce(a.query, ''), \
     coalesce(pg_catalog.to_char(coalesce(a.xact_start, a.backend_start) AT TIME ZONE 'UTC', \
     'YYYY-MM-DD HH24:MI:SS \"UTC\"'), ''), \
     coalesce(extract(epoch FROM pg_catalog.now() - coalesce(a.xact_start, a.backend_start)), 0)::float8 \
     FROM pg_catalog.pg_stat_activity a WHERE a.pid = ANY(pg_catalog.pg_blocking_pids($1)) ORDER BY a.pid";

/// How often the watcher asks who blocks the migration, and how long it lets a migration run
/// before it first asks: most migrations end sooner, and are never asked about.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// Watches, on `watcher`, which sessions block backend `pid` until `done` says the work ended
/// (or its sender is dropped); returns the last ones it saw (none when `pid` never waited).
/// It first asks after `WATCH_EVERY` (or a quarter of `timeout`, if shorter, so a short lock
/// timeout is still seen waiting), then every `WATCH_EVERY`; it wakes the moment the work ends.
///
/// The migration's own connection is busy waiting, so only another connection can ask; once the
/// lock timeout has cancelled the wait, Postgres no longer says what it was waiting for.
fn watch(watcher: &mut Client, pid: i32, timeout: Duration, done: &Receiver<()>) -> Vec<Blocker> {
    let every = WATCH_EVERY.min((timeout / 4).max(Duration::from_millis(1)));
    let mut seen = Vec::new();
    while let Err(RecvTimeoutError::Timeout) = done.recv_timeout(every) {
        match watcher.query(BLOCKERS, &[&pid]) {
            Ok(rows) if !rows.is_empty() => {
                seen = rows
                    .iter()
                    .map(|r| Blocker {
                        pid: r.get(0),
                        application_name: r.get(1),
                        user: r.get(2),
                        state: r.get(3),
                        query: r.get(4),
                        since: r.get(5),
                        seconds: r.get(6),
                    })
                    .collect();
            }
            Ok(_) => {}
            Err(_) => break, // the watcher is a help, never a reason to fail the migration
        }
    }
    seen
}

/// Runs `work` on `client` while `watcher` (if any) watches what blocks backend `pid`, whose
/// lock timeout is `timeout`; returns what `work` returned and the sessions that blocked it.
pub(super) fn watched<T>(
    client: &mut Client,
    watcher: Option<&mut Client>,
    pid: i32,
    timeout: Duration,
    work: impl FnOnce(&mut Client) -> T,
) -> (T, Vec<Blocker>) {
    let Some(watcher) = watcher else { return (work(client), Vec::new()) };
    let (done, ended) = mpsc::channel();
    std::thread::scope(|scope| {
        let watching = scope.spawn(move || watch(watcher, pid, timeout, &ended));
        let result = work(client);
        drop(done);
        (result, watching.join().unwrap_or_default())
    })
}

/// Returns the blockers as a sentence part: `pid 42 (...), running `...``; or why none is named.
pub(super) fn describe_blockers(blockers: &[Blocker], watched: bool) -> String {
    if blockers.is_empty() {
        return if watched {
            "the session holding it had ended or let go by the time it was looked up".to_string()
        } else {
            "the runner had no second connection to look up who held it".to_string()
        };
    }
    blockers.iter().map(Blocker::to_string).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_durations_as_postgres_writes_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("'2min'"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5 hours").unwrap_err().contains("none of ms, s, min"));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn a_file_sets_its_own_timeout_in_its_leading_comments() {
        assert_eq!(
            file_lock_timeout("-- lock-timeout: 5s\nALTER TABLE t ADD c int;"),
            Some(Ok(Duration::from_secs(5)))
        );
        assert_eq!(file_lock_timeout("-- no-transaction\n-- lock-timeout: 0\nVACUUM t;"), Some(Ok(Duration::ZERO)));
        assert_eq!(file_lock_timeout("SELECT 1;\n-- lock-timeout: 5s\n"), None, "only the header counts");
        assert!(matches!(file_lock_timeout("-- lock-timeout: later\n"), Some(Err(_))));
    }

    #[test]
    fn backs_off_exponentially_with_jitter_up_to_a_cap() {
        let policy = LockPolicy { lock_timeout: Duration::from_millis(500), retries: 6 };
        for attempt in 1..=8 {
            let full = Duration::from_millis(500 * (1 << (attempt - 1))).min(MAX_BACKOFF);
            let wait = policy.backoff(attempt);
            assert!(wait >= full / 2 && wait <= full, "attempt {attempt}: {wait:?} outside {:?}..={full:?}", full / 2);
        }
    }

    #[test]
    fn describes_timeouts_for_people() {
        assert_eq!(describe(Duration::from_millis(500)), "500 ms");
        assert_eq!(describe(Duration::from_secs(5)), "5 s");
        assert_eq!(describe(Duration::ZERO), "no limit");
        assert_eq!(sql_value(Duration::from_secs(2)), "'2000ms'");
    }
}
