//! `sdm journey list`: the journeys users can be onboarded onto.

use postgres::Client;
use serde_json::json;

use app::journeys;

use crate::flags;
use crate::output::Output;

impl flags::Journey {
    /// Runs the `journey` subcommand.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        match self.subcommand {
            flags::JourneyCmd::List(cmd) => cmd.run(client, out),
        }
    }
}

impl flags::List {
    /// Prints one line per journey: slug, title, how many questions and points.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let list = journeys::list(client)?;
        out.print(&json!({ "journeys": list }), || {
            if list.is_empty() {
                return "No journeys; load them with `sdm load-journeys`.".into();
            }
            let width = list.iter().map(|j| j.slug.len()).max().unwrap_or(0);
            list.iter()
                .map(|j| {
                    let inactive = if j.is_active { "" } else { " [inactive]" };
                    format!("{:width$}  {} ({} questions, {} points){inactive}", j.slug, j.title, j.questions, j.points)
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    }
}
