//! The migration engine: refinery-compatible migration sets, a runner that applies each migration
//! all or nothing under one lock, squash records that existing databases follow, the lock file,
//! and a live database's schema from its catalogs.
//!
//! It knows no product: a set is any folder of `V<version>__<name>.sql` files, in module folders
//! or flat. The SDM platform (`app`) embeds its own set and wraps [`Error`] in its own error;
//! the tools (`devdb`, `squash`, `xtask`) use the engine directly.
//!
//! Modules depend only on modules above them in this order:
//!
//! 1. `error`, `conninfo`, `db`, `sql`: the typed error, connection strings, connections, SQL
//!    literals;
//! 2. `schema`: a live database's schema from its catalogs;
//! 3. `migrations`: the migration set, its lock file and squash records;
//! 4. `migrate`: the runner, history, following squashes, drift and status.
//!
//! ```no_run
//! let set = migrator::migrations::MigrationSet::from_dir(std::path::Path::new("migrations"))?;
//! let mut client = migrator::db::connect("postgres://localhost/app")?;
//! let run = migrator::migrate::run(&mut client, &set)?;
//! println!("{} applied", run.applied.len());
//! # Ok::<(), migrator::Error>(())
//! ```

pub mod error;

pub mod conninfo;
pub mod db;
pub mod sql;

pub mod schema;

pub mod migrations;

pub mod migrate;

pub use error::{Error, Result};
