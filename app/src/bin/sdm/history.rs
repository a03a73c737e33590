//! `sdm history`: print a conversation's messages, oldest first.

use postgres::Client;
use serde_json::json;

use app::conversations;

use crate::flags;
use crate::output::Output;

impl flags::History {
    /// Prints `role: content` per message.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let conversation = conversations::get(client, self.conversation)?;
        let messages = conversations::history(client, conversation.id)?;
        let value =
            json!({"conversation_id": conversation.id, "thread_id": conversation.thread_id, "messages": messages});
        out.print(&value, || {
            if messages.is_empty() {
                return format!("Conversation {} has no messages yet.", conversation.id);
            }
            messages.iter().map(|m| format!("{}: {}", m.role.as_str(), m.content)).collect::<Vec<_>>().join("\n")
        })
    }
}
