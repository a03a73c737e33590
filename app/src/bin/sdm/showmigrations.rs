//! `sdm showmigrations`: list every embedded migration by module, `[X]` applied, `[ ]` pending.

use anyhow::Context;
use postgres::Client;
use serde_json::{json, Value};

use app::{migrate, migrations};

use crate::flags;
use crate::output::Output;

impl flags::Showmigrations {
    /// Prints the migrations with their status, as `migrate::show_migrations` lays them out.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let set = migrations::MigrationSet::embedded().context("read the embedded migrations")?;
        let statuses = migrate::status(client, &set)?;
        let rows: Vec<Value> = statuses
            .iter()
            .map(|s| {
                json!({"version": s.version, "name": s.name, "module": s.module,
                       "applied_on": s.applied_on, "missing_file": s.missing_file})
            })
            .collect();
        out.print(&json!({ "migrations": rows }), || migrate::show_migrations(&statuses).trim_end().to_string())
    }
}
