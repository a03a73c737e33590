//! The SDM platform: shared decision making journeys, chat and memory on Postgres.
//!
//! The library is what the `sdm` binary runs and what `cargo xtask` reuses: the migration set and
//! its runner, journey fixtures, the ephemeral Postgres used by tests and tools, and the domain.

pub mod error;

pub mod db;
pub mod migrations;
pub mod migrate;
pub mod fixtures;
pub mod cluster;

pub mod users;
pub mod journeys;
pub mod conversations;
pub mod points;
pub mod assistant;
pub mod extractor;
pub mod checkpoint;
pub mod store;

pub use error::{Error, Result};
