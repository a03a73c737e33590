//! The SDM platform: shared decision making journeys, chat and memory on Postgres.
//!
//! The library is what the `sdm` binary runs and what `cargo xtask` reuses: the migration set and
//! its runner, journey fixtures, and the domain. The Postgres that tests and tools start is the
//! `devdb` crate's, which production does not link.

pub mod error;

pub mod db;
pub mod fixtures;
pub mod migrate;
pub mod migrations;

pub mod assistant;
pub mod checkpoint;
pub mod conversations;
pub mod extractor;
pub mod journeys;
pub mod points;
pub mod store;
pub mod users;

pub use error::{Error, Result};
