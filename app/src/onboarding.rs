//! Onboarding: a user picks a journey, answers its questions, and their conversation on it starts.

use postgres::Client;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::conversations::{self, Conversation};
use crate::{journeys, points, users, Error, Result};

/// The outcome of onboarding a user onto a journey.
#[derive(Debug, Clone, Serialize)]
pub struct Onboarding {
    /// The onboarded user.
    pub user_id: i64,
    /// The journey's slug.
    pub journey: String,
    /// How many answers this call stored.
    pub answers_saved: usize,
    /// Questions the user has not answered yet (in any call).
    pub unanswered: Vec<String>,
    /// The user's conversation on the journey.
    pub conversation: Conversation,
    /// False when the user already had a conversation on this journey (it is reused).
    pub conversation_created: bool,
}

/// Onboards a user onto a journey in one transaction: checks and stores their answers, then
/// starts their conversation on it (one per user and journey) with every point `not_started`.
///
/// ```no_run
/// # fn main() -> app::Result<()> {
/// let mut client = app::db::connect("postgres://localhost/sdm")?;
/// let answers = serde_json::json!({"pain-level": 6}).as_object().cloned().unwrap();
/// let started = app::onboarding::onboard(&mut client, "ada@example.org", "knee-osteoarthritis-treatment", &answers)?;
/// println!("conversation {} thread {}", started.conversation.id, started.conversation.thread_id);
/// # Ok(()) }
/// ```
pub fn onboard(client: &mut Client, email: &str, slug: &str, answers: &Map<String, Value>) -> Result<Onboarding> {
    let mut tx = client.transaction()?;
    let user = users::by_email(&mut tx, email)?;
    let journey = journeys::by_slug(&mut tx, slug)?;
    if !journey.is_active {
        return Err(Error::Invalid(format!("journey {slug:?} is not active; pick another with `sdm journey list`")));
    }
    let answers_saved = journeys::save_answers(&mut tx, user.id, &journey, answers)?;
    let answered: Vec<String> =
        journeys::answers(&mut tx, user.id, journey.id)?.into_iter().map(|a| a.question_id).collect();
    let unanswered =
        journey.onboarding_questions.iter().filter(|q| !answered.contains(&q.id)).map(|q| q.id.clone()).collect();
    let (conversation, conversation_created) = conversations::start(&mut tx, user.id, &journey)?;
    points::init_statuses(&mut tx, conversation.id, journey.id)?;
    tx.commit()?;
    Ok(Onboarding {
        user_id: user.id,
        journey: journey.slug,
        answers_saved,
        unanswered,
        conversation,
        conversation_created,
    })
}
