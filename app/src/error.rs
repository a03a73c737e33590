//! The library's typed error: every message names the thing (file, line, migration, object).

use std::path::PathBuf;

/// A result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the library can fail with. Messages never contain a password.
///
/// A variant with a cause returns it from [`source`](std::error::Error::source) and leaves it out
/// of its own message, so a chain printed with `{:#}` (as `anyhow` does) shows each cause once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The migration engine failed: a migration file, a run, a connection (see [`migrator::Error`]).
    #[error(transparent)]
    Migration(#[from] migrator::Error),
    /// A journey fixture is malformed or inconsistent.
    #[error("{path}:{line}:{column}: {message}")]
    Fixture {
        /// The fixture file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The 1-based column.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// Something the caller asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The caller's input is invalid.
    #[error("{0}")]
    Invalid(String),
    /// A stored LangGraph payload could not be decoded.
    #[error("thread {thread_id}, channel {channel}: {message}")]
    Payload {
        /// The checkpoint's thread.
        thread_id: String,
        /// The channel whose value is broken.
        channel: String,
        /// What is wrong with it.
        message: String,
    },
    /// Any other database error, shown as Postgres's report (severity, SQLSTATE, message, detail,
    /// hint, context).
    ///
    /// `postgres::Error` says only `db error` and keeps the report in its source, so the message
    /// holds the report and the variant has no source: the report is printed once.
    #[error("database: {}", migrator::db::report(.0))]
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

impl From<postgres::Error> for Error {
    fn from(error: postgres::Error) -> Error {
        Error::Db(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine's error comes through as the engine says it (its own tests hold that each of
    /// its causes prints once), and the product's database errors print Postgres's report once.
    #[test]
    fn engine_and_database_errors_print_their_cause_once() {
        let shown = |error: Error| format!("{:#}", anyhow::Error::from(error));
        let engine = migrator::Error::Invalid("no database: set DATABASE_URL".into());
        assert_eq!(shown(Error::from(engine)), "no database: set DATABASE_URL");
        let error = "port=not-a-number".parse::<postgres::Config>().unwrap_err();
        let cause = std::error::Error::source(&error).unwrap().to_string();
        let text = shown(Error::from(error));
        assert_eq!(text, format!("database: invalid connection string: {cause}"));
        assert_eq!(text.matches(&cause).count(), 1, "{text}");
    }
}
