//! The migration set: SQL files under `migrations/`, validated by name, version and module folder.
//!
//! refinery 0.10 skips a mis-named file without a word and runs two files that share a version, so
//! every file is checked here, both when reading a folder ([`MigrationSet::from_dir`]) and for the
//! set a binary compiles in ([`MigrationSet::from_entries`]), with the same code. Next to the
//! migrations live the lock file (checksums and expected schema), the squash records and the import record.

mod checksum;
mod imported;
mod lock;
mod names;
mod recorded;
mod set;
mod squashes;

pub use imported::{ImportRecord, ImportedMigration, IMPORT_FILE};
pub use lock::{LockMismatch, MigrationLock, LOCK_COMMAND, LOCK_FILE};
pub use recorded::RecordedMigration;
pub use set::{
    is_module_name, Content, Entry, MigrationFile, MigrationSet, TransactionMode, KEEP_MARKER, NO_TRANSACTION_MARKER,
};
pub use squashes::{SquashRecord, SQUASHES_DIR};
