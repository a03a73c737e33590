//! `sdm showmigrations`: list every embedded migration by module, `[X]` applied, `[ ]` pending,
//! `[!]` flagged; exits 1 when `sdm migrate` would refuse the database.

use anyhow::Context;
use postgres::Client;
use serde_json::{json, Value};

use app::migrate::{self, MigrationState};
use app::migrations;

use crate::flags;
use crate::output::Output;

impl flags::Showmigrations {
    /// Prints the migrations with their status, as `migrate::show_migrations` lays them out, then
    /// fails with `sdm migrate`'s own message when it would refuse this database.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let set = migrations::embedded().context("read the embedded migrations")?;
        let (statuses, verdict) = migrate::status_and_check(client, &set)?;
        let problem = verdict.err();
        let rows: Vec<Value> = statuses
            .iter()
            .map(|s| {
                json!({"version": s.version, "name": s.name, "module": s.module, "applied_on": s.applied_on,
                       "missing_file": s.missing_file, "state": state(&s.state)})
            })
            .collect();
        let problem_text = problem.as_ref().map(|e| format!("{e:#}"));
        let value = json!({ "migrations": rows, "problem": problem_text });
        let text = || migrate::show_migrations(&statuses).trim_end().to_string();
        match problem {
            Some(e) => out.print_failure(
                value,
                text,
                anyhow::Error::from(e).context("`sdm migrate` would refuse this database"),
            ),
            None => out.print(&value, text),
        }
    }
}

/// Returns the state as JSON: its name, with the details of the flagged ones.
fn state(state: &MigrationState) -> Value {
    match state {
        MigrationState::Applied => json!("applied"),
        MigrationState::Pending => json!("pending"),
        MigrationState::Changed { recorded, recorded_checksum, checksum } => json!({
            "changed": {"recorded": recorded, "recorded_checksum": recorded_checksum, "checksum": checksum.to_string()}
        }),
        MigrationState::MissingFile => json!("missing_file"),
        MigrationState::Squashed { squash } => json!({"squashed": {"squash": squash}}),
        MigrationState::Replaced { squash, applied, same } => {
            json!({"replaced": {"squash": squash, "applied": applied, "same": same}})
        }
    }
}
