//! The library's typed error: every message names the thing (file, line, migration, object).

use std::path::PathBuf;

/// A result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the library can fail with. Messages never contain a password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A migration file is mis-named, duplicated, misplaced or unreadable.
    #[error("{path}: {message}")]
    MigrationFile {
        /// The file (or folder) at fault.
        path: PathBuf,
        /// What is wrong with it and what to do.
        message: String,
    },
    /// A migration's SQL failed on the server.
    #[error("migration {name} failed at {path}:{line}:{column}: {message}")]
    MigrationFailed {
        /// The migration's label, `V<version>__<name>`.
        name: String,
        /// The migration's file.
        path: PathBuf,
        /// The line of the failing statement's error position, from 1.
        line: usize,
        /// The column of the error position, from 1.
        column: usize,
        /// The server's message, with its detail and hint.
        message: String,
    },
    /// The database's history does not match the migration files.
    #[error("migration history: {0}")]
    History(String),
    /// A journey fixture is malformed or inconsistent.
    #[error("{path}:{line}:{column}: {message}")]
    Fixture {
        /// The fixture file.
        path: PathBuf,
        /// The line of the offending value, from 1.
        line: usize,
        /// The column of the offending value, from 1.
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
        /// The LangGraph thread the payload belongs to.
        thread_id: String,
        /// The channel whose value did not decode.
        channel: String,
        /// Why it did not decode.
        message: String,
    },
    /// The local Postgres cluster could not be set up, started or stopped.
    #[error("local postgres: {0}")]
    Cluster(String),
    /// Connecting to the database failed (the URL is shown redacted).
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The connection URL with its password replaced.
        url: String,
        /// The driver's message, scrubbed of the password.
        message: String,
    },
    /// Any other database error.
    #[error("database: {}", crate::db::with_sources(.0))]
    Db(#[from] postgres::Error),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// JSON could not be parsed or written.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}
