//! The engine's tests against a real Postgres (devdb's: the ephemeral cluster, or `DATABASE_URL`'s
//! server), one binary with a module per concern, each test on chains it writes itself.

mod corpus;
mod support;

mod locks;
mod lost_connection;
mod majors;
mod migrate;
mod records;
mod resume;
mod sessions;
mod split_oracle;
mod transactions;
