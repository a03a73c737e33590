//! A real Postgres for the SDM tools and tests: `DATABASE_URL`'s server, or an ephemeral cluster.
//!
//! The ephemeral cluster lives under `target/sdm-pg/` (initdb runs once; later runs reuse the
//! folder), listens on a Unix socket only, and stops when the last process using it ends.
//! Tests and tool steps each get their own scratch database, cloned from a template migrated
//! once per set of migrations; two schemas are compared as [`Schema`]s, texts with [`line_diff`].
//!
//! The product does not link this crate: `xtask` depends on it, `app` only for its tests.
//!
//! ```no_run
//! use devdb::Schema;
//!
//! let server = devdb::test_server();
//! let db = devdb::test_database();
//! db.connect().batch_execute("CREATE TABLE note (body text)").unwrap();
//! let schema = Schema::dump(server, db.name(), &["note"]).unwrap();
//! assert!(schema.text().contains("CREATE TABLE public.note"));
//! ```

mod binaries;
mod cluster;
mod diff;
mod error;
mod initdb;
mod lifetime;
pub mod majors;
mod password_cluster;
mod ram;
mod role;
mod schema;
mod scratch;
mod server;
mod template;
mod testing;
mod url;
mod watchdog;

pub use binaries::find_bin_dir;
pub use cluster::{cluster_dir_for, default_cluster_dir, Cluster};
pub use diff::line_diff;
pub use error::{Error, Result};
pub use lifetime::interrupted;
pub use password_cluster::PasswordCluster;
pub use ram::{scratch_root, test_cluster_dir};
pub use role::{TestRole, ROLE_PREFIX};
pub use schema::{Change, ObjectDifference, Privileges, Schema};
pub use scratch::{Reused, TestDatabase, SCRATCH_PREFIX};
pub use server::{Server, DEFAULT_DATABASE};
pub use template::{TEMPLATE_LOCK_KEY, TEMPLATE_PREFIX};
pub use testing::{empty_database, major_server, role_server, superuser_server, test_database, test_server};
pub use url::{database_of, endpoint, socket_url, with_database, Endpoint};
