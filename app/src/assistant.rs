//! The chat assistant: what answers a user's message.
//!
//! [`Assistant`] is the seam where a language model can take over later; the platform ships
//! [`GuideAssistant`], a deterministic responder that walks the user through the journey's
//! uncovered conversation points in order.

use crate::points::{PointProgress, PointStatus};
use crate::Result;

/// What the assistant sees of one turn, after memory extraction has been applied.
#[derive(Debug, Clone)]
pub struct TurnContext<'a> {
    /// The title of the conversation's journey.
    pub journey_title: &'a str,
    /// The user's message.
    pub message: &'a str,
    /// Messages in the thread before this turn.
    pub previous_messages: usize,
    /// The journey's points with their status after this message, in order.
    pub points: &'a [PointProgress],
    /// Points this message covered, in order.
    pub newly_covered: &'a [PointProgress],
}

/// Produces the assistant's reply to one user turn.
pub trait Assistant {
    /// Returns the reply text.
    fn reply(&self, ctx: &TurnContext<'_>) -> Result<String>;
}

/// The deterministic guide. Its reply is, in this order:
///
/// 1. for a first turn, a welcome naming the journey;
/// 2. `Thanks, that covers "<title>".` for each point the message covered;
/// 3. the next uncovered point, quoted: `Next, let's talk about "<title>": <description>`
///    (`Let's start with ...` on a first turn that covered nothing, `Tell me more about ...`
///    when the conversation was already on that point), or, when every point is covered, a
///    closing line saying so.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuideAssistant;

impl Assistant for GuideAssistant {
    fn reply(&self, ctx: &TurnContext<'_>) -> Result<String> {
        let mut lines = Vec::new();
        if ctx.previous_messages == 0 {
            lines.push(format!("Welcome to \"{}\".", ctx.journey_title));
        }
        for p in ctx.newly_covered {
            lines.push(format!("Thanks, that covers \"{}\".", p.point.title));
        }
        match ctx.points.iter().find(|p| p.status != PointStatus::Covered) {
            Some(next) => {
                let lead = if ctx.previous_messages == 0 && ctx.newly_covered.is_empty() {
                    "Let's start with"
                } else if next.status == PointStatus::InProgress {
                    "Tell me more about"
                } else {
                    "Next, let's talk about"
                };
                let description = next.point.description.trim();
                if description.is_empty() {
                    lines.push(format!("{lead} \"{}\".", next.point.title));
                } else {
                    lines.push(format!("{lead} \"{}\": {description}", next.point.title));
                }
            }
            None if ctx.points.is_empty() => {
                lines.push("This journey has no conversation points to go through.".into())
            }
            None => lines.push(format!(
                "We have covered every point of \"{}\". You can review them with your clinician.",
                ctx.journey_title
            )),
        }
        Ok(lines.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::ConversationPoint;

    fn point(id: &str, title: &str, description: &str, status: PointStatus) -> PointProgress {
        PointProgress {
            point: ConversationPoint {
                row_id: 0,
                point_id: id.into(),
                title: title.into(),
                description: description.into(),
                covered_when: vec![],
                sort_order: 0,
            },
            status,
            note: String::new(),
        }
    }

    #[test]
    fn guides_through_uncovered_points_in_order() {
        let goals = point("goals", "Pain and goals", "What you want.", PointStatus::Covered);
        let tried = point("tried", "Tried so far", "Past treatments.", PointStatus::NotStarted);
        let points = [goals.clone(), tried];
        let ctx = TurnContext {
            journey_title: "Knee",
            message: "I want to walk",
            previous_messages: 0,
            points: &points,
            newly_covered: std::slice::from_ref(&goals),
        };
        assert_eq!(
            GuideAssistant.reply(&ctx).unwrap(),
            "Welcome to \"Knee\". Thanks, that covers \"Pain and goals\". \
             Next, let's talk about \"Tried so far\": Past treatments."
        );
        let done = [goals.clone()];
        let ctx = TurnContext { previous_messages: 2, points: &done, newly_covered: &[], ..ctx };
        assert!(GuideAssistant.reply(&ctx).unwrap().starts_with("We have covered every point of \"Knee\""));
    }
}
