//! `sdm migrate`: apply the embedded migrations the database has not applied yet.

use std::time::Instant;

use anyhow::Context;
use postgres::Client;
use serde_json::{json, Value};

use app::{migrate, migrations};

use crate::flags;
use crate::output::Output;

impl flags::Migrate {
    /// Applies pending migrations; prints each with its time, then the total.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let set = migrations::MigrationSet::embedded().context("read the embedded migrations")?;
        let started = Instant::now();
        let applied = migrate::migrate(client, &set)?;
        let rows: Vec<Value> =
            applied.iter().map(|m| json!({"version": m.version, "name": m.name, "millis": m.millis})).collect();
        out.print(&json!({ "applied": rows }), || {
            let mut text: Vec<String> =
                applied.iter().map(|m| format!("Applied V{}__{} ({:.1} ms)", m.version, m.name, m.millis)).collect();
            if applied.is_empty() {
                text.push("No migrations to apply.".into());
            } else {
                text.push(format!(
                    "{} migration(s) applied in {:.1} ms.",
                    applied.len(),
                    started.elapsed().as_secs_f64() * 1e3
                ));
            }
            text.join("\n")
        })
    }
}
