//! `sdm chat`: send a message in a conversation and print the assistant's reply.

use postgres::Client;

use app::assistant::GuideAssistant;
use app::chat;
use app::extractor::PhraseExtractor;

use crate::flags;
use crate::output::Output;

impl flags::Chat {
    /// Runs one turn with the platform's guide and phrase extractor; prints the reply.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let turn = chat::turn(client, self.conversation, &self.message, &GuideAssistant, &PhraseExtractor)?;
        out.print(&turn, || turn.reply.clone())
    }
}
