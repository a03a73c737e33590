//! `sdm load-journeys`: insert or update journeys and their conversation points from fixtures.

use std::path::PathBuf;

use anyhow::Context;
use postgres::Client;
use serde_json::json;

use app::fixtures;

use crate::flags;
use crate::output::Output;

impl flags::LoadJourneys {
    /// Reads and validates every fixture, then upserts them all in one transaction.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let dir = self.fixtures.unwrap_or_else(|| PathBuf::from("fixtures/journeys"));
        let journeys =
            fixtures::load_dir(&dir).with_context(|| format!("read journey fixtures in {}", dir.display()))?;
        fixtures::upsert(client, &journeys).context("load journeys into the database")?;
        let loaded: Vec<String> = journeys.iter().map(|j| j.slug.clone()).collect();
        out.print(&json!({ "journeys": loaded }), || {
            format!("Loaded {} journey(s) from {}: {}", loaded.len(), dir.display(), loaded.join(", "))
        })
    }
}
