//! A journey's conversation points (`memory_conversation_point`) and their status in each
//! conversation (`memory_point_status`).

use postgres::GenericClient;
use serde::Serialize;
use serde_json::Value;

use crate::{Error, Result};

/// A point a journey's conversations should cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationPoint {
    /// The row id (what `memory_point_status.point_id` references).
    #[serde(skip)]
    pub row_id: i64,
    /// The stable id from the fixture, e.g. `pain-goals`.
    pub point_id: String,
    /// The point's name, as shown.
    pub title: String,
    /// What the conversation should establish.
    pub description: String,
    /// Phrases whose presence in a user message covers the point.
    pub covered_when: Vec<String>,
    /// Its place in the journey, from 1.
    pub sort_order: i32,
}

/// How far a conversation has got with a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointStatus {
    /// Not talked about yet.
    NotStarted,
    /// Under discussion: the conversation is on it, nothing has covered it yet.
    InProgress,
    /// A message covered it; it stays covered.
    Covered,
}

impl PointStatus {
    /// Returns the status as stored in `memory_point_status.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            PointStatus::NotStarted => "not_started",
            PointStatus::InProgress => "in_progress",
            PointStatus::Covered => "covered",
        }
    }

    /// Parses a stored status.
    pub fn parse(s: &str) -> Result<PointStatus> {
        match s {
            "not_started" => Ok(PointStatus::NotStarted),
            "in_progress" => Ok(PointStatus::InProgress),
            "covered" => Ok(PointStatus::Covered),
            other => Err(Error::Invalid(format!("unknown point status {other:?}"))),
        }
    }
}

/// A point together with its status in one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PointProgress {
    /// The point.
    #[serde(flatten)]
    pub point: ConversationPoint,
    /// How far this conversation has got with it.
    pub status: PointStatus,
    /// The message that covered it, if one did.
    pub note: String,
}

fn point(row: &postgres::Row, offset: usize) -> ConversationPoint {
    let covered_when: Value = row.get(offset + 3);
    ConversationPoint {
        row_id: row.get(offset),
        point_id: row.get(offset + 1),
        title: row.get(offset + 2),
        description: row.get(offset + 4),
        // Non-string entries cannot match a message; they are skipped rather than fatal.
        covered_when: covered_when
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        sort_order: row.get(offset + 5),
    }
}

const POINT_COLUMNS: &str = "p.id, p.point_id, p.title, p.covered_when, p.description, p.sort_order";

/// Returns a journey's points in order.
pub fn for_journey(client: &mut impl GenericClient, journey_id: i64) -> Result<Vec<ConversationPoint>> {
    let rows = client.query(
        &format!("SELECT {POINT_COLUMNS} FROM memory_conversation_point p WHERE p.journey_id = $1 ORDER BY p.sort_order, p.id"),
        &[&journey_id],
    )?;
    Ok(rows.iter().map(|r| point(r, 0)).collect())
}

/// Returns the points of a conversation's journey with their status in it, in order; a point
/// without a status row is `not_started`.
pub fn progress(client: &mut impl GenericClient, conversation_id: i64) -> Result<Vec<PointProgress>> {
    let rows = client.query(
        &format!(
            "SELECT {POINT_COLUMNS}, coalesce(s.status, 'not_started'), coalesce(s.note, '')
             FROM llmchat_conversation c
             JOIN memory_conversation_point p ON p.journey_id = c.journey_id
             LEFT JOIN memory_point_status s ON s.conversation_id = c.id AND s.point_id = p.id
             WHERE c.id = $1
             ORDER BY p.sort_order, p.id"
        ),
        &[&conversation_id],
    )?;
    rows.iter()
        .map(|r| {
            let status: String = r.get(6);
            Ok(PointProgress { point: point(r, 0), status: PointStatus::parse(&status)?, note: r.get(7) })
        })
        .collect()
}

/// Creates a `not_started` status row for each of the journey's points in a conversation
/// (rows that exist are left alone); returns how many were created.
pub fn init_statuses(client: &mut impl GenericClient, conversation_id: i64, journey_id: i64) -> Result<u64> {
    Ok(client.execute(
        "INSERT INTO memory_point_status (conversation_id, point_id, status)
         SELECT $1, p.id, 'not_started' FROM memory_conversation_point p WHERE p.journey_id = $2
         ON CONFLICT (conversation_id, point_id) DO NOTHING",
        &[&conversation_id, &journey_id],
    )?)
}

/// Moves a point forward to `status` in a conversation; a point never moves back
/// (a covered point stays covered).
pub fn advance(
    client: &mut impl GenericClient,
    conversation_id: i64,
    point_row_id: i64,
    status: PointStatus,
    note: &str,
) -> Result<()> {
    client.execute(
        "INSERT INTO memory_point_status (conversation_id, point_id, status, note, updated_at)
         VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (conversation_id, point_id) DO UPDATE
         SET status = EXCLUDED.status, note = EXCLUDED.note, updated_at = now()
         WHERE memory_point_status.status <> 'covered'
           AND (memory_point_status.status = 'not_started' OR EXCLUDED.status = 'covered')",
        &[&conversation_id, &point_row_id, &status.as_str(), &note],
    )?;
    Ok(())
}
