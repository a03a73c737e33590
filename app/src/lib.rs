//! The SDM platform: shared decision making journeys, chat and memory on Postgres.
//!
//! The library is what the `sdm` binary runs and what `cargo xtask` reuses: the domain, its
//! journey fixtures, and the migration set compiled into it. The migration engine (runner, sets,
//! records, schema snapshots, connections) is the `migrator` crate, re-exported here under the
//! names the product uses; the Postgres that tests and tools start is the `devdb` crate's, which
//! production does not link.
//!
//! Modules depend only on modules above them in this order:
//!
//! 1. `error`, `help`, and from `migrator`: `conninfo`, `db`, `sql`, `schema`, `migrate`: the
//!    typed error, `--help` text, connections, SQL literals, schemas, the runner;
//! 2. `migrations`, `fixtures`: the product's modules and its embedded migration set, journey
//!    fixtures;
//! 3. `langgraph`: LangGraph's checkpoint and store tables;
//! 4. `users`, `journeys`, `points`: entities that need no other entity;
//! 5. `conversations` (journeys, langgraph);
//! 6. `assistant`, `extractor` (points): where a language model can take over later;
//! 7. `onboarding`, `chat`, `erasure`: workflows across entities, each one transaction.

pub mod error;

pub mod help;
pub use migrator::{conninfo, db, migrate, schema, sql};

pub mod fixtures;
pub mod migrations;

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
