//! The SDM platform: shared decision making journeys, chat and memory on Postgres.
//!
//! The library is what the `sdm` binary runs and what `cargo xtask` reuses: the migration set and
//! its runner, journey fixtures, and the domain. The Postgres that tests and tools start is the
//! `devdb` crate's, which production does not link.
//!
//! Modules depend only on modules above them in this order:
//!
//! 1. `error`, `conninfo`, `db`, `sql`, `help`: the typed error, connection strings, connections,
//!    SQL literals, `--help` text;
//! 2. `schema`, `migrations`, `migrate`, `fixtures`: a live database's schema from its catalogs,
//!    the migration set with its records, its runner, journey fixtures;
//! 3. `langgraph`: LangGraph's checkpoint and store tables;
//! 4. `users`, `journeys`, `points`: entities that need no other entity;
//! 5. `conversations` (journeys, langgraph);
//! 6. `assistant`, `extractor` (points): where a language model can take over later;
//! 7. `onboarding`, `chat`, `erasure`: workflows across entities, each one transaction.

pub mod error;

pub mod conninfo;
pub mod db;
pub mod fixtures;
pub mod help;
pub mod migrate;
pub mod migrations;
pub mod schema;
pub mod sql;

pub mod langgraph;

pub mod conversations;
pub mod journeys;
pub mod points;
pub mod users;

pub mod assistant;
pub mod extractor;

pub mod chat;
pub mod erasure;
pub mod onboarding;

pub use error::{Error, Result};
