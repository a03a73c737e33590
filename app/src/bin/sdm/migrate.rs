//! `sdm migrate`: apply the embedded migrations the database has not applied yet, first moving a
//! database migrated with a chain a squash replaced onto the squashed set.

use std::time::Instant;

use anyhow::Context;
use postgres::Client;
use serde_json::{json, Value};

use app::{migrate, migrations};

use crate::flags;
use crate::output::Output;

impl flags::Migrate {
    /// Applies pending migrations; prints each squash followed, each migration with its time, then the total.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let set = migrations::embedded().context("read the embedded migrations")?;
        let started = Instant::now();
        let run = migrate::run(client, &set)?;
        let applied = |list: &[migrate::AppliedMigration]| -> Vec<Value> {
            list.iter().map(|m| json!({"version": m.version, "name": m.name, "millis": m.millis})).collect()
        };
        let followed: Vec<Value> = run
            .followed
            .iter()
            .map(|f| {
                json!({"squash": f.squash, "record": f.record, "caught_up": applied(&f.caught_up),
                       "replaced": f.replaced, "squashed": f.squashed, "schema_objects": f.schema_objects,
                       "millis": f.millis})
            })
            .collect();
        let database: String = client.query_one("SELECT current_database()::text", &[])?.get(0);
        let millis = started.elapsed().as_secs_f64() * 1e3;
        let value = json!({ "followed": followed, "applied": applied(&run.applied), "millis": millis });
        out.print(&value, || format!("{} in {millis:.1} ms.", run.describe(&database).join("\n")))
    }
}
