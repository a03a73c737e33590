//! Memory extraction: what a user's message tells us about the journey's conversation points.
//!
//! [`MemoryExtractor`] is the seam where a language model can take over later; the platform ships
//! [`PhraseExtractor`], a deterministic rule: a point is covered when the message contains one of
//! its `covered_when` phrases, and the point under discussion is at least `in_progress`.

use serde::Serialize;

use crate::points::{PointProgress, PointStatus};
use crate::Result;

/// What an extractor sees of one user turn.
#[derive(Debug, Clone)]
pub struct ExtractionContext<'a> {
    /// The user who wrote the message.
    pub user_id: i64,
    /// The conversation it was written in.
    pub conversation_id: i64,
    /// That conversation's journey.
    pub journey_slug: &'a str,
    /// The user's message.
    pub message: &'a str,
    /// The journey's points with their status before this message, in order.
    pub points: &'a [PointProgress],
}

/// What an extractor concluded from one user turn.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extraction {
    /// Fixture ids of the points the message covers, in journey order.
    pub covered: Vec<String>,
    /// Fixture id of the point the conversation was on, if the message did not cover it.
    pub in_progress: Option<String>,
    /// A long-term memory to keep in the user's store namespace, if the message is worth one.
    pub memory: Option<MemoryItem>,
}

/// A long-term memory: what the user said and which points it speaks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryItem {
    /// The user's statement, as they wrote it.
    pub statement: String,
    /// Fixture ids of the points the statement covered.
    pub point_ids: Vec<String>,
    /// The conversation it came from (erasing that conversation erases it).
    pub conversation_id: i64,
    /// That conversation's journey slug.
    pub journey: String,
}

/// Turns a user's message into point updates and memories.
pub trait MemoryExtractor {
    /// Returns what `ctx.message` covers; must not write anything itself.
    fn extract(&self, ctx: &ExtractionContext<'_>) -> Result<Extraction>;
}

/// The rule-based extractor: case-insensitive whole-word phrase matches against `covered_when`.
///
/// - every not-yet-covered point with a phrase in the message becomes covered;
/// - the point under discussion (the first one not covered before the message) becomes
///   `in_progress` if the message did not cover it;
/// - a message that covers anything becomes a memory item.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhraseExtractor;

impl MemoryExtractor for PhraseExtractor {
    fn extract(&self, ctx: &ExtractionContext<'_>) -> Result<Extraction> {
        let covered: Vec<String> = ctx
            .points
            .iter()
            .filter(|p| p.status != PointStatus::Covered)
            .filter(|p| p.point.covered_when.iter().any(|phrase| contains_phrase(ctx.message, phrase)))
            .map(|p| p.point.point_id.clone())
            .collect();
        let in_progress = ctx
            .points
            .iter()
            .find(|p| p.status != PointStatus::Covered)
            .filter(|p| !covered.contains(&p.point.point_id))
            .map(|p| p.point.point_id.clone());
        let memory = (!covered.is_empty()).then(|| MemoryItem {
            statement: ctx.message.trim().to_string(),
            point_ids: covered.clone(),
            conversation_id: ctx.conversation_id,
            journey: ctx.journey_slug.to_string(),
        });
        Ok(Extraction { covered, in_progress, memory })
    }
}

/// Whether `message` contains `phrase` as whole words, ignoring case and runs of whitespace.
///
/// "I walk daily" contains "walk"; "sidewalk" and "walked" do not.
pub fn contains_phrase(message: &str, phrase: &str) -> bool {
    let phrase = normalize(phrase);
    if phrase.is_empty() {
        return false;
    }
    let message = normalize(message);
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    message.match_indices(&phrase).any(|(at, _)| {
        let before = message[..at].chars().next_back();
        let after = message[at + phrase.len()..].chars().next();
        // A boundary is needed only where the phrase itself starts or ends with a word character.
        (!is_word(phrase.chars().next()) || !is_word(before))
            && (!is_word(phrase.chars().next_back()) || !is_word(after))
    })
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::ConversationPoint;

    #[test]
    fn phrases_match_whole_words_in_any_case() {
        assert!(contains_phrase("I WALK to work", "walk"));
        assert!(contains_phrase("walk.", "walk"));
        assert!(contains_phrase("I want   to be\nable to dance", "want to be able"));
        assert!(!contains_phrase("the sidewalk is icy", "walk"));
        assert!(!contains_phrase("I walked", "walk"));
        assert!(!contains_phrase("anything", ""));
        assert!(contains_phrase("Ibuprofen helps", "ibuprofen"));
        assert!(contains_phrase("C++ helps", "c++"));
    }

    fn progress(id: &str, phrases: &[&str], status: PointStatus) -> PointProgress {
        PointProgress {
            point: ConversationPoint {
                row_id: 0,
                point_id: id.into(),
                title: id.into(),
                description: String::new(),
                covered_when: phrases.iter().map(|s| s.to_string()).collect(),
                sort_order: 0,
            },
            status,
            note: String::new(),
        }
    }

    #[test]
    fn covers_matching_points_and_marks_the_current_one_in_progress() {
        let points = [
            progress("goals", &["walk", "stairs"], PointStatus::NotStarted),
            progress("tried", &["physio"], PointStatus::NotStarted),
        ];
        let ctx = |message| ExtractionContext {
            user_id: 1,
            conversation_id: 2,
            journey_slug: "knee",
            message,
            points: &points,
        };

        let e = PhraseExtractor.extract(&ctx("Physio helped a bit")).unwrap();
        assert_eq!(e.covered, vec!["tried".to_string()]);
        assert_eq!(e.in_progress.as_deref(), Some("goals"));
        let memory = e.memory.unwrap();
        assert_eq!((memory.statement.as_str(), memory.conversation_id), ("Physio helped a bit", 2));
        assert_eq!(memory.point_ids, vec!["tried".to_string()]);

        let e = PhraseExtractor.extract(&ctx("Stairs are hard")).unwrap();
        assert_eq!((e.covered, e.in_progress), (vec!["goals".to_string()], None));

        let e = PhraseExtractor.extract(&ctx("Hello")).unwrap();
        assert!(e.covered.is_empty() && e.memory.is_none());
        assert_eq!(e.in_progress.as_deref(), Some("goals"));
    }
}
