//! The SDM platform: shared decision making journeys, chat and memory on Postgres.
//!
//! The library is what the `sdm` binary runs and what `cargo xtask` reuses: the migration set and
//! its runner, journey fixtures, the ephemeral Postgres used by tests and tools, and the domain.

pub mod error;

pub mod cluster;
pub mod db;
pub mod fixtures;
pub mod migrate;
pub mod migrations;

pub mod assistant;
pub mod conversations;
pub mod extractor;
pub mod journeys;
pub mod langgraph;
pub mod points;
pub mod users;

pub use error::{Error, Result};
