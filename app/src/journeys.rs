//! Journeys as stored (`journeys_journey`), their onboarding questions and the answers users
//! give (`journeys_onboarding_answer`); the onboarding flow itself is [`crate::onboarding`].

use postgres::GenericClient;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// A journey as listed: what a user picks from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JourneySummary {
    /// The row id.
    pub id: i64,
    /// The stable identifier, e.g. `knee-osteoarthritis-treatment`.
    pub slug: String,
    /// The title shown to users.
    pub title: String,
    /// What the decision is about.
    pub description: String,
    /// Whether users can be onboarded onto it.
    pub is_active: bool,
    /// How many onboarding questions it asks.
    pub questions: usize,
    /// How many conversation points it has.
    pub points: i64,
}

/// A journey with its options and onboarding questions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Journey {
    /// The row id.
    pub id: i64,
    /// The stable identifier, e.g. `knee-osteoarthritis-treatment`.
    pub slug: String,
    /// The title shown to users.
    pub title: String,
    /// What the decision is about.
    pub description: String,
    /// The choices the patient weighs, as stored (`journeys_journey.options`).
    pub options: Value,
    /// The questions asked before the first chat.
    pub onboarding_questions: Vec<OnboardingQuestion>,
    /// Whether users can be onboarded onto it.
    pub is_active: bool,
}

/// One onboarding question, as stored in `journeys_journey.onboarding_questions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnboardingQuestion {
    /// The question's id within the journey; answers are keyed by it.
    pub id: String,
    /// What the user is asked.
    #[serde(default)]
    pub prompt: String,
    /// `scale`, `choice` or `text`.
    #[serde(default)]
    pub kind: String,
    /// The answers to pick from, for a `choice` question: values, or objects with an `id` or `value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Value>,
}

/// The answers a `scale` question takes: a whole number in this range.
pub const SCALE: std::ops::RangeInclusive<i64> = 0..=10;

impl OnboardingQuestion {
    /// Whether `answer` answers this question: a `scale` answer a whole number in [`SCALE`], a
    /// `choice` answer one of the choices, a `text` answer a non-empty string.
    pub fn accepts(&self, answer: &Value) -> bool {
        match self.kind.as_str() {
            "scale" => answer.as_i64().is_some_and(|n| SCALE.contains(&n)),
            "text" => answer.as_str().is_some_and(|s| !s.trim().is_empty()),
            "choice" if !self.choices.is_empty() => self.choices.iter().any(|c| choice_value(c) == Some(answer)),
            _ => !answer.is_null(),
        }
    }

    /// Says what answers the question takes, e.g. `a whole number from 0 to 10`.
    pub fn expects(&self) -> String {
        match self.kind.as_str() {
            "scale" => format!("a whole number from {} to {}", SCALE.start(), SCALE.end()),
            "text" => "a non-empty string".to_string(),
            "choice" => format!(
                "one of {}",
                self.choices.iter().filter_map(choice_value).map(Value::to_string).collect::<Vec<_>>().join(", ")
            ),
            _ => "a value".to_string(),
        }
    }

    /// Returns an answer the question accepts, to show how to answer it.
    pub fn example(&self) -> Value {
        match self.kind.as_str() {
            "scale" => Value::from((SCALE.start() + SCALE.end()) / 2),
            "choice" => self.choices.iter().find_map(choice_value).cloned().unwrap_or(Value::Null),
            _ => Value::from("..."),
        }
    }
}

/// Returns every journey, ordered by slug.
pub fn list(client: &mut impl GenericClient) -> Result<Vec<JourneySummary>> {
    let rows = client.query(
        "SELECT j.id, j.slug, j.title, j.description, j.is_active, j.onboarding_questions,
                (SELECT count(*) FROM memory_conversation_point p WHERE p.journey_id = j.id)
         FROM journeys_journey j ORDER BY j.slug",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let questions: Value = r.get(5);
            JourneySummary {
                id: r.get(0),
                slug: r.get(1),
                title: r.get(2),
                description: r.get(3),
                is_active: r.get(4),
                questions: questions.as_array().map_or(0, Vec::len),
                points: r.get(6),
            }
        })
        .collect())
}

const COLUMNS: &str = "id, slug, title, description, options, onboarding_questions, is_active";

fn journey(row: &postgres::Row) -> Result<Journey> {
    let slug: String = row.get(1);
    let questions: Value = row.get(5);
    let onboarding_questions = serde_json::from_value(questions)
        .map_err(|e| Error::Invalid(format!("journey {slug}: stored onboarding questions are malformed: {e}")))?;
    Ok(Journey {
        id: row.get(0),
        slug,
        title: row.get(2),
        description: row.get(3),
        options: row.get(4),
        onboarding_questions,
        is_active: row.get(6),
    })
}

/// Returns the journey with `slug`, or a not-found error that says how to list them.
pub fn by_slug(client: &mut impl GenericClient, slug: &str) -> Result<Journey> {
    let row = client.query_opt(&format!("SELECT {COLUMNS} FROM journeys_journey WHERE slug = $1"), &[&slug])?;
    match row {
        Some(row) => journey(&row),
        None => Err(Error::NotFound(format!("no journey with slug {slug:?}; list them with `sdm journey list`"))),
    }
}

/// Returns the journey with `id`.
pub fn get(client: &mut impl GenericClient, id: i64) -> Result<Journey> {
    let row = client.query_opt(&format!("SELECT {COLUMNS} FROM journeys_journey WHERE id = $1"), &[&id])?;
    match row {
        Some(row) => journey(&row),
        None => Err(Error::NotFound(format!("no journey with id {id}"))),
    }
}

/// Checks answers against the journey's questions: every id must be a question of the journey,
/// and every answer one the question accepts ([`OnboardingQuestion::accepts`]). The error lists
/// every problem, each with the question and what it takes.
pub fn validate_answers(journey: &Journey, answers: &Map<String, Value>) -> Result<()> {
    let mut problems = Vec::new();
    for (id, answer) in answers {
        let Some(q) = journey.onboarding_questions.iter().find(|q| &q.id == id) else {
            let known: Vec<&str> = journey.onboarding_questions.iter().map(|q| q.id.as_str()).collect();
            problems.push(format!("{id:?} is not a question of this journey (its questions: {})", known.join(", ")));
            continue;
        };
        if !q.accepts(answer) {
            problems.push(format!("answer to {id:?} is {answer}, expected {}", q.expects()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(format!("journey {}: {}", journey.slug, problems.join("; "))))
    }
}

/// Returns the value a choice stands for: itself, or an object's `id` or `value`.
fn choice_value(choice: &Value) -> Option<&Value> {
    match choice {
        Value::Object(o) => o.get("id").or_else(|| o.get("value")),
        other => Some(other),
    }
}

/// Stores answers (replacing earlier answers to the same questions); returns how many.
pub fn save_answers(
    client: &mut impl GenericClient,
    user_id: i64,
    journey: &Journey,
    answers: &Map<String, Value>,
) -> Result<usize> {
    validate_answers(journey, answers)?;
    for (question_id, answer) in answers {
        client.execute(
            "INSERT INTO journeys_onboarding_answer (user_id, journey_id, question_id, answer)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, journey_id, question_id)
             DO UPDATE SET answer = EXCLUDED.answer, answered_at = now()",
            &[&user_id, &journey.id, question_id, answer],
        )?;
    }
    Ok(answers.len())
}

/// A stored onboarding answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnboardingAnswer {
    /// The question answered.
    pub question_id: String,
    /// The answer, as given.
    pub answer: Value,
}

/// Returns a user's answers for a journey, by question id.
pub fn answers(client: &mut impl GenericClient, user_id: i64, journey_id: i64) -> Result<Vec<OnboardingAnswer>> {
    let rows = client.query(
        "SELECT question_id, answer FROM journeys_onboarding_answer
         WHERE user_id = $1 AND journey_id = $2 ORDER BY question_id",
        &[&user_id, &journey_id],
    )?;
    Ok(rows.iter().map(|r| OnboardingAnswer { question_id: r.get(0), answer: r.get(1) }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn knee() -> Journey {
        Journey {
            id: 1,
            slug: "knee".into(),
            title: "Knee".into(),
            description: String::new(),
            options: json!([]),
            onboarding_questions: serde_json::from_value(json!([
                {"id": "pain-level", "prompt": "How bad?", "kind": "scale"},
                {"id": "hardest", "prompt": "Which?", "kind": "choice", "choices": ["Walking", "Stairs"]},
                {"id": "goal", "prompt": "What?", "kind": "text"}
            ]))
            .unwrap(),
            is_active: true,
        }
    }

    fn answers(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn answers_must_name_questions_and_fit_their_kind() {
        let j = knee();
        assert!(validate_answers(&j, &answers(json!({"pain-level": 6, "hardest": "Stairs", "goal": "Garden"}))).is_ok());
        let err = validate_answers(&j, &answers(json!({"pain": 6}))).unwrap_err().to_string();
        assert!(err.contains("\"pain\" is not a question") && err.contains("pain-level, hardest, goal"), "{err}");
        let err =
            validate_answers(&j, &answers(json!({"hardest": "Running", "pain-level": "six"}))).unwrap_err().to_string();
        assert!(err.contains("one of \"Walking\", \"Stairs\"") && err.contains("expected a whole number"), "{err}");
    }

    #[test]
    fn a_scale_answer_is_a_whole_number_in_its_range() {
        let j = knee();
        for fits in [json!(0), json!(10), json!(6)] {
            assert!(validate_answers(&j, &answers(json!({"pain-level": fits}))).is_ok(), "{fits}");
        }
        for wrong in [json!(99), json!(-5), json!(6.5), json!(11)] {
            let err = validate_answers(&j, &answers(json!({"pain-level": wrong}))).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("journey knee: answer to \"pain-level\" is {wrong}, expected a whole number from 0 to 10")
            );
        }
        let examples: Vec<Value> = j.onboarding_questions.iter().map(OnboardingQuestion::example).collect();
        assert_eq!(examples, [json!(5), json!("Walking"), json!("...")]);
        assert!(j.onboarding_questions.iter().zip(&examples).all(|(q, e)| q.accepts(e)), "examples are answers");
    }
}
