//! Shapes `pg_dump`'s text into DDL a person would write, without changing what it builds.
//!
//! pg_dump stays the source of truth for what exists and in what order; this only moves and
//! rewrites its statements. Each table's identity, serial sequence, keys and checks go inside its
//! `CREATE TABLE` (where every object they need exists by then), its comments, indexes,
//! triggers and policies right after it, and a foreign key that cannot go inside after the last
//! table it joins. Grants and default privileges come last, as `pg_restore` runs them. The
//! session settings pg_dump writes are left out but for those a statement needs, once. An
//! expression whose printed text Postgres reads back as another is written so that it reads back
//! as the chain built it (see `readback`).
//! Where the catalog says pg_dump's text would not rebuild the same object (an inherited column's
//! `DEFAULT NULL`), the text follows the catalog.

pub mod chunks;
mod grants;
mod layout;
mod members;
mod readback;
mod sql;
mod table;

use super::facts::Facts;
use super::toc::TocEntry;

pub use chunks::Chunk;
pub use layout::Shaped;

/// Returns `chunks`, those of one file's entries (in `entries`) in the order `pg_restore`
/// printed them, as the statements of a readable migration.
pub fn shape(chunks: &[Chunk], entries: &[TocEntry], facts: &Facts) -> Shaped {
    layout::lay_out(chunks, entries, facts)
}

/// Returns the session settings the statements in `body` need, as `SET LOCAL` lines.
pub fn needed_settings(body: &str) -> Vec<&'static str> {
    let mut settings = Vec::new();
    // pg_dump writes functions before the tables and views their bodies name (a SQL body's
    // query, a PL/pgSQL `%ROWTYPE`), relying on bodies not being checked when they are made.
    let functions =
        table::statements(body).iter().any(|s| s.starts_with("CREATE FUNCTION ") || s.starts_with("CREATE PROCEDURE "));
    if functions {
        settings.push("SET LOCAL check_function_bodies = false;");
    }
    if body.contains('\\') {
        settings.push("SET LOCAL standard_conforming_strings = on;");
    }
    if body.contains("::xml") {
        settings.push("SET LOCAL xmloption = content;");
    }
    settings
}
