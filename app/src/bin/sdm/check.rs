//! `sdm check`: compare the database's schema with the one its migrations give (the committed
//! record), listing each object that differs; exits 1 unless they are equal.

use anyhow::Context;
use postgres::Client;
use serde_json::json;

use app::{migrate, migrations};

use crate::flags;
use crate::output::Output;

impl flags::Check {
    /// Prints whether the schema matches, or each difference, and fails when anything differs.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let set = migrations::embedded().context("read the embedded migrations")?;
        let drift = migrate::drift(client, &set)?;
        let differences: Vec<String> = drift.differences.iter().map(ToString::to_string).collect();
        let record = drift.record.display().to_string();
        let value = json!({"equal": differences.is_empty(), "record": record,
                           "expected_objects": drift.expected_objects, "differences": differences});
        let text = || match differences.len() {
            0 => format!("The schema matches {record} ({} objects).", drift.expected_objects),
            n => format!(
                "The schema differs from {record} in {n} object(s) (`expected` is what the migrations give):\n{}",
                app::schema::list_differences(&drift.differences, "  ", usize::MAX).trim_end()
            ),
        };
        if differences.is_empty() {
            return out.print(&value, text);
        }
        let error = anyhow::anyhow!(
            "the schema differs from the one its migrations give in {} object(s): undo the changes made by hand, \
             or put them in a new migration",
            differences.len()
        );
        out.print_failure(value, text, error)
    }
}
