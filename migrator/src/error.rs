//! The engine's typed error: every message names the thing (file, line, migration, object).

use std::path::PathBuf;

use crate::migrate::HISTORY_TABLE;

/// A result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the engine can fail with. Messages never contain a password.
///
/// A variant with a cause returns it from [`source`](std::error::Error::source) and leaves it out
/// of its own message, so a chain printed with `{:#}` (as `anyhow` does) shows each cause once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A migration file is mis-named, duplicated, misplaced or unreadable.
    #[error("{path}: {message}")]
    MigrationFile {
        /// The file or folder, as shown to the user.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A migration's SQL failed on the server; its transaction was rolled back.
    #[error("migration {name} failed at {path}:{line}:{column}: {message}")]
    MigrationFailed {
        /// The migration's label, e.g. `V2__users_email`.
        name: String,
        /// The migration's file.
        path: PathBuf,
        /// The 1-based line of the failing statement or of Postgres's position.
        line: usize,
        /// The 1-based column, in characters.
        column: usize,
        /// Postgres's report, the source line with a caret, and what to do.
        message: String,
    },
    /// An applied migration's file now holds other SQL or another name.
    #[error(
        "migration {label} was changed after it was applied: the database recorded {label} \
         (checksum {recorded_checksum}) on {applied_on}, but {path} is now {} (checksum {checksum}); \
         restore the file as it was and put the change in a new migration, V{next_free}",
        file_label(.path)
    )]
    MigrationChanged {
        /// The label the database recorded, e.g. `V2__users_email`.
        label: String,
        /// The file that has the migration's version now; its name is the label it has now.
        path: PathBuf,
        /// The checksum the database recorded.
        recorded_checksum: String,
        /// The file's checksum now.
        checksum: u64,
        /// When the database applied it (refinery's RFC 3339 text).
        applied_on: String,
        /// The first version no file and no applied migration uses.
        next_free: i32,
    },
    /// The database applied a migration that no file has the version of.
    #[error(
        "migration {label} was applied on {applied_on} but there is no migration file with version \
         {version}: restore its file, or migrate a fresh database if the set was squashed"
    )]
    MigrationMissing {
        /// The label the database recorded.
        label: String,
        /// The migration's version.
        version: i32,
        /// When the database applied it.
        applied_on: String,
    },
    /// A migration is not applied but a later one is, so it would run out of order.
    #[error(
        "migration {label} ({path}) is not applied but the later {last_applied} is: renumber it to \
         V{next_free} so it runs after what this database already has"
    )]
    OutOfOrder {
        /// The migration that is not applied.
        label: String,
        /// Its file.
        path: PathBuf,
        /// The label of the latest migration the database applied.
        last_applied: String,
        /// The first version no file and no applied migration uses.
        next_free: i32,
    },
    /// A database whose history is a chain a squash replaced cannot be moved onto the squashed
    /// set; its history was left as it was.
    #[error("this database cannot follow squash {squash} ({}), so nothing was changed: {message}", record.display())]
    SquashNotFollowed {
        /// The squash's number.
        squash: u32,
        /// The squash's record, e.g. `migrations/squashes/0001.json`.
        record: PathBuf,
        /// Why it was refused.
        refusal: crate::migrate::Refusal,
        /// What differs and the ways forward.
        message: String,
    },
    /// A database another tool migrated could not be adopted: its history disagrees with the
    /// import record; nothing was changed.
    #[error("cannot adopt the migrations {tool} applied ({table}), so nothing was changed: {message}")]
    AdoptionRefused {
        /// The tool, e.g. `golang-migrate`.
        tool: String,
        /// The tool's history table.
        table: String,
        /// What disagrees, by name, and the way forward.
        message: String,
    },
    /// A migration ran but its history row could not be recorded, so it was rolled back.
    #[error(
        "recording migration {label} ({path}) in {table} failed, so it was rolled back: {message}; \
         the migration must not drop or change {table}",
        table = HISTORY_TABLE
    )]
    HistoryWrite {
        /// The migration's label.
        label: String,
        /// Its file.
        path: PathBuf,
        /// Postgres's report of the failed insert.
        message: String,
    },
    /// A migration was refused before anything of the run was applied: its SQL controls
    /// transactions in a way that would leave part of it applied.
    #[error("migration {name} cannot run: {path}:{line}:{column}: {message}")]
    MigrationRefused {
        /// The migration's label.
        name: String,
        /// Its file.
        path: PathBuf,
        /// The 1-based line of the statement.
        line: usize,
        /// The 1-based column, in characters.
        column: usize,
        /// The statement, why it cannot run, and what to do.
        message: String,
    },
    /// A statement of a migration that runs without a transaction failed; the statements before
    /// it stay applied and the migration is not recorded.
    #[error("migration {name} failed at {path}:{line}:{column}, statement {statement} of {statements}: {message}")]
    StatementFailed {
        /// The migration's label.
        name: String,
        /// Its file.
        path: PathBuf,
        /// The 1-based line of the failing statement or of Postgres's position in it.
        line: usize,
        /// The 1-based column, in characters.
        column: usize,
        /// The failing statement's 1-based number in the file.
        statement: usize,
        /// How many statements the file has.
        statements: usize,
        /// Postgres's report, the source line with a caret, what stays applied and what to do.
        message: String,
    },
    /// Every statement of a migration that runs without a transaction succeeded, but its history
    /// row could not be recorded.
    #[error(
        "migration {label} ({path}) ran without a transaction and all of it is applied, but recording it \
         in {table} failed: {message}",
        table = HISTORY_TABLE
    )]
    NotRecorded {
        /// The migration's label.
        label: String,
        /// Its file.
        path: PathBuf,
        /// Postgres's report of the failed insert, and how to record the migration by hand.
        message: String,
    },
    /// The connection to the server was lost while a migration ran (the server stopped, was
    /// interrupted, or the network broke): not a fault of the migration's SQL.
    #[error("lost the connection to the server while migration {name} ({path}) ran: {cause}; {state}")]
    ConnectionLost {
        /// The migration's label.
        name: String,
        /// Its file.
        path: PathBuf,
        /// What the driver or the server said.
        cause: String,
        /// What of the migration may be applied, and what to do.
        state: String,
    },
    /// A migration could not get a lock within its `lock_timeout`, in every try the run allowed;
    /// what the last try did was rolled back.
    #[error("migration {name} ({}) could not get a lock {message}", path.display())]
    LockTimeout {
        /// The migration's label (and the statement, without a transaction).
        name: String,
        /// Its file.
        path: PathBuf,
        /// The timeout and the tries, what of it is applied, the sessions it waited behind (what
        /// they ran, since when) and what to do.
        message: String,
    },
    /// The migration lock was lost while the run held it: a migration released it, or the
    /// connection does not keep its session (a transaction-pooling PgBouncer).
    #[error("the migration lock was lost {when}: {why}")]
    LockLost {
        /// After which step.
        when: String,
        /// The likely cause and what to do.
        why: String,
    },
    /// The database is ahead of the checkout: it followed a squash the checkout does not have, or
    /// applied migrations newer than every file; nothing was changed.
    #[error("{message}")]
    CheckoutBehind {
        /// What the database has that the checkout lacks, and the ways forward.
        message: String,
    },
    /// The database role lacks a privilege a step needs.
    #[error("{step}: {message}")]
    Privilege {
        /// The step, e.g. `create the history table refinery_schema_history`.
        step: String,
        /// Which role lacks which privilege on what, and the statement that grants it.
        message: String,
    },
    /// The caller's input is invalid.
    #[error("{0}")]
    Invalid(String),
    /// Connecting to the database failed (the URL is shown redacted).
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The database URL with its password replaced.
        url: String,
        /// Why, with the password scrubbed.
        message: String,
    },
    /// Any other database error, shown as Postgres's report (severity, SQLSTATE, message, detail,
    /// hint, context).
    ///
    /// `postgres::Error` says only `db error` and keeps the report in its source, so the message
    /// holds the report and the variant has no source: the report is printed once.
    #[error("database: {}", crate::db::report(.0))]
    Db(postgres::Error),
    /// Reading or writing a file or folder failed.
    #[error("{path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Encoding or decoding JSON failed.
    #[error("json")]
    Json(#[from] serde_json::Error),
}

/// Returns the label a migration file's name gives it: `V2__b` for `migrations/V2__b.sql`.
fn file_label(path: &std::path::Path) -> std::borrow::Cow<'_, str> {
    path.file_stem().unwrap_or(path.as_os_str()).to_string_lossy()
}

impl From<postgres::Error> for Error {
    fn from(error: postgres::Error) -> Error {
        Error::Db(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the error as `sdm` and `cargo xtask` print it: the message and its causes.
    fn chain(error: Error) -> String {
        format!("{:#}", anyhow::Error::from(error))
    }

    #[test]
    fn io_errors_print_their_cause_once() {
        let missing = std::path::Path::new("/no/such/folder/V1__a.sql");
        let source = std::fs::read(missing).unwrap_err();
        let cause = source.to_string();
        let shown = chain(Error::Io { path: missing.to_path_buf(), source });
        assert_eq!(shown, format!("/no/such/folder/V1__a.sql: {cause}"));
        assert_eq!(shown.matches(&cause).count(), 1, "{shown}");
    }

    #[test]
    fn database_errors_print_their_cause_once() {
        // A real server's error is shown once too: see the runner's integration tests.
        let error = "port=not-a-number".parse::<postgres::Config>().unwrap_err();
        let cause = std::error::Error::source(&error).unwrap().to_string();
        let shown = chain(Error::from(error));
        assert_eq!(shown, format!("database: invalid connection string: {cause}"));
        assert_eq!(shown.matches(&cause).count(), 1, "{shown}");
    }

    #[test]
    fn json_errors_print_their_cause_once() {
        let error = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let cause = error.to_string();
        let shown = chain(Error::from(error));
        assert_eq!(shown, format!("json: {cause}"));
    }
}
