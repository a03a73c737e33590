//! The crate's typed error: each names the tool, file or statement that failed, and no password.

use std::path::PathBuf;
use std::process::ExitStatus;

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything setting up, using or stopping a development database can fail with.
///
/// A message names what failed; the cause is its [`source`](std::error::Error::source), printed
/// once by a reporter that walks the chain (`anyhow`'s `{:#}`, or [`migrator::db::with_sources`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `PG_BIN` names a folder without `initdb` and `postgres`.
    #[error("PG_BIN={} has no initdb and postgres", .0.display())]
    BadPgBin(PathBuf),
    /// No Postgres server binaries are installed where they are looked for.
    #[error("no Postgres server binaries found: install them (`apt-get install -y postgresql`) or set PG_BIN")]
    NoServerBinaries,
    /// `SDM_PG_VERSION` names a major the project does not support.
    #[error("{setting}: the supported Postgres majors are 14, 15, 16, 17 and 18")]
    UnsupportedMajor {
        /// The setting as given.
        setting: String,
    },
    /// No server binaries of the major asked for are installed.
    #[error(
        "no Postgres {major} server binaries (initdb, postgres) found; installed: {found}. Install them with \
         `python3 tools/pg-binaries.py {major}` (or `apt-get install -y postgresql-{major}`), or set PG_BIN to their folder"
    )]
    NoBinariesForMajor {
        /// The major asked for.
        major: u32,
        /// The majors found, with their folders.
        found: String,
    },
    /// Only client tools older than the server are installed: they refuse it.
    #[error(
        "{tool} for a Postgres {server_major} server must be of Postgres {server_major} or newer; found: {found}. \
         Install Postgres {server_major}'s tools with `python3 tools/pg-binaries.py {server_major}` (or `apt-get install -y \
         postgresql-client-{server_major}`), or set PG_BIN to a folder of Postgres {server_major} (or newer) binaries"
    )]
    ClientTooOld {
        /// The tool, e.g. `pg_dump`.
        tool: String,
        /// The server's major.
        server_major: u32,
        /// The majors of the tool found, with their folders.
        found: String,
    },
    /// The ephemeral cluster's data folder was made by another major than the binaries chosen.
    #[error(
        "the cluster in {} was made by Postgres {data_major}, not {bin_major}: run with {}={data_major}, \
         or remove the folder to start a new cluster (it holds nothing that must survive)",
        data.display(), crate::majors::VERSION_SETTING
    )]
    ClusterOfOtherMajor {
        /// The data folder.
        data: PathBuf,
        /// The major in its `PG_VERSION`.
        data_major: u32,
        /// The major of the binaries chosen.
        bin_major: u32,
    },
    /// A program (`initdb`, `pg_ctl`, `pg_dump`, ...) could not be started.
    #[error("cannot run {what}")]
    Spawn {
        /// What was being run.
        what: String,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// A program ran and failed.
    #[error("{what} failed ({status}): {output}")]
    Failed {
        /// What was being run.
        what: String,
        /// How it ended.
        status: ExitStatus,
        /// What it printed, passwords removed.
        output: String,
    },
    /// A program printed something that is not UTF-8 text.
    #[error("{what} printed invalid UTF-8")]
    NotText {
        /// What was being run.
        what: String,
        /// Where the text broke.
        #[source]
        source: std::string::FromUtf8Error,
    },
    /// A file or folder of the cluster could not be created, read, written or locked.
    #[error("{}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A statement run to manage databases failed.
    ///
    /// The message holds the server's report (`postgres::Error` itself says only `db error`), so
    /// the variant has no source: the report is printed once.
    #[error("{what}: {}", migrator::db::report(.error))]
    Sql {
        /// What the statement was for, e.g. `create database sdm_scratch_1_2_3_test`.
        what: String,
        /// The server's error.
        error: postgres::Error,
    },
    /// A cluster another process is using was asked to stop.
    #[error("the cluster in {} is in use by another process", .0.display())]
    InUse(PathBuf),
    /// Connecting, or migrating a template database, failed.
    #[error(transparent)]
    Migration(#[from] migrator::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn sql(what: impl Into<String>) -> impl FnOnce(postgres::Error) -> Error {
        let what = what.into();
        move |error| Error::Sql { what, error }
    }
}
