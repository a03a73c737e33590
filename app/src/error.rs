//! The library's typed error: every message names the thing (file, line, migration, object).

use std::path::PathBuf;

/// A result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the library can fail with. Messages never contain a password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A migration file is mis-named, duplicated, misplaced or unreadable.
    #[error("{path}: {message}")]
    MigrationFile { path: PathBuf, message: String },
    /// A migration's SQL failed on the server.
    #[error("migration {name} failed at {path}:{line}:{column}: {message}")]
    MigrationFailed { name: String, path: PathBuf, line: usize, column: usize, message: String },
    /// The database's history does not match the migration files.
    #[error("migration history: {0}")]
    History(String),
    /// A journey fixture is malformed or inconsistent.
    #[error("{path}:{line}:{column}: {message}")]
    Fixture { path: PathBuf, line: usize, column: usize, message: String },
    /// Something the caller asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The caller's input is invalid.
    #[error("{0}")]
    Invalid(String),
    /// A stored LangGraph payload could not be decoded.
    #[error("thread {thread_id}, channel {channel}: {message}")]
    Payload { thread_id: String, channel: String, message: String },
    /// Connecting to the database failed (the URL is shown redacted).
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    /// Any other database error.
    #[error("database: {}", crate::db::with_sources(.0))]
    Db(#[from] postgres::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}
