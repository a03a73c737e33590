//! `sdm onboard`: answer a journey's onboarding questions for a user and start their conversation.

use anyhow::bail;
use postgres::Client;
use serde_json::{json, Value};

use app::{journeys, onboarding};

use crate::flags;
use crate::output::Output;

impl flags::Onboard {
    /// Stores the answers, starts (or resumes) the conversation, and prints it.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let answers = match &self.answers {
            None => serde_json::Map::new(),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    bail!("--answers must be a JSON object of question id to answer, like '{{\"pain-level\": 6}}'")
                }
                Err(e) => bail!("--answers is not valid JSON: {e}"),
            },
        };
        let onboarding = onboarding::onboard(client, &self.email, &self.journey, &answers)?;
        let questions = journeys::by_slug(client, &self.journey)?.onboarding_questions;
        let c = &onboarding.conversation;
        let value = json!({
            "conversation_id": c.id,
            "thread_id": c.thread_id,
            "created": onboarding.conversation_created,
            "user_id": onboarding.user_id,
            "journey": onboarding.journey,
            "answers_saved": onboarding.answers_saved,
            "unanswered": onboarding.unanswered,
        });
        out.print(&value, || {
            let verb = if onboarding.conversation_created { "Started" } else { "Resumed" };
            let mut text = format!("{verb} conversation {} on {} (thread {})", c.id, onboarding.journey, c.thread_id);
            let unanswered: Vec<_> = questions.iter().filter(|q| onboarding.unanswered.contains(&q.id)).collect();
            if !unanswered.is_empty() {
                text.push_str("\nUnanswered questions:");
                for q in &unanswered {
                    text.push_str(&format!("\n  {} ({}): {}", q.id, q.expects(), q.prompt));
                }
                let example: serde_json::Map<String, Value> =
                    unanswered.iter().map(|q| (q.id.clone(), q.example())).collect();
                text.push_str(&format!(
                    "\nAnswer them with: sdm onboard --email {} --journey {} --answers '{}'",
                    self.email,
                    self.journey,
                    Value::Object(example)
                ));
            }
            text
        })
    }
}
