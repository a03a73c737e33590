//! `sdm points`: the conversation points of a conversation's journey with their status.

use postgres::Client;
use serde_json::json;

use app::conversations;
use app::points::{self, PointStatus};

use crate::flags;
use crate::output::Output;

impl flags::Points {
    /// Prints one line per point: `[ ]`, `[~]` or `[x]`, its id, title and status.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let conversation = conversations::get(client, self.conversation)?;
        let progress = points::progress(client, conversation.id)?;
        let value =
            json!({"conversation_id": conversation.id, "journey": conversation.journey_slug, "points": progress});
        out.print(&value, || {
            progress
                .iter()
                .map(|p| {
                    let mark = match p.status {
                        PointStatus::NotStarted => "[ ]",
                        PointStatus::InProgress => "[~]",
                        PointStatus::Covered => "[x]",
                    };
                    format!("{mark} {}  {} ({})", p.point.point_id, p.point.title, p.status.as_str())
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    }
}
