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
    ///
    /// The migration lock is held on a second connection to `url`, which no migration can
    /// release; each wait for a lock goes to stderr as it happens.
    pub fn run(self, client: &mut Client, url: &str, out: &Output) -> anyhow::Result<()> {
        let set = migrations::embedded().context("read the embedded migrations")?;
        let locks = migrate::LockPolicy::from_env()?.with_flags(self.lock_timeout.as_deref(), self.lock_retries)?;
        let options = migrate::RunOptions {
            locks,
            lock_connection: Some(app::db::connect(url).context("open the connection that holds the migration lock")?),
            report: Box::new(|note| eprintln!("{note}")),
        };
        let started = Instant::now();
        let run = migrate::run_with(client, &set, options)?;
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
        let adopted =
            run.adopted.as_ref().map(|a| json!({"tool": a.tool, "table": a.table, "migrations": a.migrations}));
        let value =
            json!({ "adopted": adopted, "followed": followed, "applied": applied(&run.applied), "millis": millis });
        out.print(&value, || format!("{} in {millis:.1} ms.", run.describe(&database).join("\n")))
    }
}
