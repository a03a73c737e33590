//! `sdm conversation delete`: delete a conversation with everything that belongs to it.

use postgres::Client;

use app::erasure;

use crate::flags;
use crate::output::Output;

impl flags::Conversation {
    /// Runs the `conversation` subcommand.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        match self.subcommand {
            flags::ConversationCmd::Remove(cmd) => cmd.run(client, out),
        }
    }
}

impl flags::Remove {
    /// Deletes the conversation and prints what went, per table.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let deleted = erasure::delete_conversation(client, self.id)?;
        out.print(&deleted, || {
            let rows = deleted.checkpoint_rows;
            format!(
                "Deleted conversation {} (thread {}): {} point status(es), {} checkpoint(s), {} blob(s), {} write(s), {} memory item(s)",
                deleted.conversation_id,
                deleted.thread_id,
                deleted.point_statuses,
                rows.checkpoints,
                rows.checkpoint_blobs,
                rows.checkpoint_writes,
                deleted.store_items
            )
        })
    }
}
