//! The SDM platform: shared decision making journeys, chat and memory on Postgres.
//!
//! The library is what the `sdm` binary runs and what `cargo xtask` reuses: the migration set and
//! its runner, journey fixtures, the ephemeral Postgres used by tests and tools, and the domain.

pub mod error;

pub mod cluster;
pub mod db;
#[allow(missing_docs)] // TEMPORARY: documented by the restructure of this module; remove at merge.
pub mod fixtures;
pub mod migrate;
pub mod migrations;

pub mod assistant;
#[allow(missing_docs)] // TEMPORARY: documented by the restructure of this module; remove at merge.
pub mod checkpoint;
#[allow(missing_docs)] // TEMPORARY: documented by the restructure of this module; remove at merge.
pub mod conversations;
pub mod extractor;
#[allow(missing_docs)] // TEMPORARY: documented by the restructure of this module; remove at merge.
pub mod journeys;
pub mod points;
pub mod store;
#[allow(missing_docs)] // TEMPORARY: documented by the restructure of this module; remove at merge.
pub mod users;

pub use error::{Error, Result};
