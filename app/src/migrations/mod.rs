//! The migration set: SQL files under `migrations/`, validated by name, version and module folder.
//!
//! refinery 0.10 skips a mis-named file without a word and runs two files that share a version, so
//! every file is checked here, both when reading a folder ([`MigrationSet::from_dir`]) and for the
//! set compiled into the crate ([`MigrationSet::embedded`]), with the same code.

mod checksum;
mod embedded;
mod names;
mod set;

pub use set::{MigrationFile, MigrationSet, TransactionMode, KEEP_MARKER, MODULES, NO_TRANSACTION_MARKER};
