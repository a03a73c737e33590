//! Applies a [`MigrationSet`](crate::migrations::MigrationSet) to Postgres, one transaction per
//! migration (or statement by statement for a `-- no-transaction` file), under an advisory lock.
//!
//! This replaces refinery 0.10's runner, which commits a migration's SQL and its history row in
//! two transactions, takes no lock (two runners both apply the same migration), and reports a
//! failing statement as `db error`. The history table and its rows stay refinery's, so either
//! runner can take over a database the other migrated. A database migrated with a chain that a
//! squash replaced follows the squash (`follow`); one another tool migrated is adopted (`adopt`).

mod adopt;
pub(crate) mod diagnosis;
mod drift;
mod follow;
mod history;
mod locks;
mod no_transaction;
mod one_transaction;
mod report;
mod resume;
mod runner;
mod session;
mod statements;
mod status;
mod transactions;

pub use adopt::Adoption;
pub use drift::{drift, Drift};
pub use follow::{FollowedSquash, Refusal};
pub use history::{locate as history_table, HISTORY_TABLE};
pub use locks::{parse_duration, Blocker, LockPolicy, DEFAULT_LOCK_RETRIES, DEFAULT_LOCK_TIMEOUT, LOCK_TIMEOUT_MARKER};
pub use runner::{
    migrate, migrate_each, run, run_with, AppliedMigration, MigrationRun, RunOptions, MIGRATION_LOCK_KEY,
};
pub use statements::{split_statements, statement_words};
pub use status::{check_history, show_migrations, status, status_and_check, MigrationState, MigrationStatus};
