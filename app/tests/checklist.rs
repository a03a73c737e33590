//! The runbook's verification checklist (items 1-8), each item on its own fresh database.
//!
//! Item 9 ("all tests pass") is the suite itself; its end-to-end scenario through the `sdm`
//! binary lives in `tests/cli.rs`.

use std::path::Path;

use postgres::types::ToSql;
use serde_json::{json, Value};

use app::assistant::GuideAssistant;
use app::extractor::PhraseExtractor;
use app::langgraph::messages::Role;
use app::langgraph::{ids, store};
use app::points::PointStatus;
use app::{chat, conversations, erasure, fixtures, journeys, migrate, migrations, onboarding, points, users, Error};
use devdb::test_database;

const KNEE: &str = "knee-osteoarthritis-treatment";
const DIABETES: &str = "type-2-diabetes-second-line";

fn fixture(slug: &str) -> fixtures::Journey {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/journeys");
    let all = fixtures::load_dir(&dir).unwrap_or_else(|e| panic!("load fixtures: {e}"));
    all.into_iter().find(|j| j.slug == slug).unwrap_or_else(|| panic!("fixture {slug} is missing"))
}

fn count(client: &mut postgres::Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> i64 {
    client.query_one(sql, params).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

fn answers(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().expect("answers are an object")
}

/// Creates a user and onboards them onto `slug` without answers; returns (user id, conversation).
fn onboarded(client: &mut postgres::Client, email: &str, slug: &str) -> (i64, conversations::Conversation) {
    let user = match users::find_by_email(client, email).unwrap() {
        Some(user) => user,
        None => users::create(client, email, "").unwrap(),
    };
    let started = onboarding::onboard(client, email, slug, &serde_json::Map::new()).unwrap();
    (user.id, started.conversation)
}

fn chat(client: &mut postgres::Client, conversation_id: i64, message: &str) -> chat::Turn {
    chat::turn(client, conversation_id, message, &GuideAssistant, &PhraseExtractor).unwrap()
}

fn thread_rows(client: &mut postgres::Client, thread_id: &str) -> [i64; 3] {
    [
        count(client, "SELECT count(*) FROM checkpoints WHERE thread_id = $1", &[&thread_id]),
        count(client, "SELECT count(*) FROM checkpoint_blobs WHERE thread_id = $1", &[&thread_id]),
        count(client, "SELECT count(*) FROM checkpoint_writes WHERE thread_id = $1", &[&thread_id]),
    ]
}

/// Adds a pending write to a thread's latest checkpoint, as a Python graph interrupted mid-step leaves.
fn add_pending_write(client: &mut postgres::Client, thread_id: &str) {
    client
        .execute(
            "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob)
             SELECT thread_id, checkpoint_ns, checkpoint_id, 'task-1', 0, 'messages', 'json', '[]'::bytea
             FROM checkpoints WHERE thread_id = $1 ORDER BY checkpoint_id DESC LIMIT 1",
            &[&thread_id],
        )
        .unwrap();
}

#[test]
fn item1_every_migration_shows_as_applied() {
    let db = test_database();
    let mut client = db.connect();
    let set = migrations::embedded().unwrap();
    assert!(!set.files.is_empty(), "the embedded set has migrations");
    let statuses = migrate::status(&mut client, &set).unwrap();
    assert_eq!(statuses.len(), set.files.len(), "one status per embedded migration");
    for (file, status) in set.files.iter().zip(&statuses) {
        assert_eq!((status.version, status.name.as_str()), (file.version, file.name.as_str()));
        assert!(status.applied_on.is_some(), "{} is not applied", file.label());
        assert!(!status.missing_file, "{} is reported missing", file.label());
    }
    let listing = migrate::show_migrations(&statuses);
    assert!(!listing.contains("[ ]"), "showmigrations lists an unapplied migration:\n{listing}");
    for file in &set.files {
        assert!(listing.contains(&file.name), "showmigrations does not list {}:\n{listing}", file.label());
    }
    // LangGraph's own setup() steps count as applied too: every step from 0, without a gap (that
    // they are all the pinned library's is `cargo xtask langgraph --check`'s and the interop tests' job).
    for table in ["checkpoint_migrations", "store_migrations"] {
        let steps: Vec<i32> =
            client.query(&format!("SELECT v FROM {table} ORDER BY v"), &[]).unwrap().iter().map(|r| r.get(0)).collect();
        assert!(!steps.is_empty() && steps.iter().copied().eq(0..steps.len() as i32), "{table} records {steps:?}");
    }
}

#[test]
fn item2_a_new_user_can_be_created() {
    let db = test_database();
    let mut client = db.connect();
    let ada = users::create(&mut client, " Ada@Example.org ", "Ada Lovelace").unwrap();
    assert_eq!(
        (ada.email.as_str(), ada.display_name.as_str(), ada.is_active),
        ("Ada@Example.org", "Ada Lovelace", true)
    );
    let found = users::find_by_email(&mut client, "ada@example.ORG").unwrap().expect("found regardless of case");
    assert_eq!(found, ada);
    assert_eq!(users::get(&mut client, ada.id).unwrap(), ada);

    match users::create(&mut client, "ADA@example.org", "") {
        Err(Error::Invalid(message)) => assert!(message.contains("already exists"), "{message}"),
        other => panic!("a second account with the same email: {other:?}"),
    }
    assert!(matches!(users::create(&mut client, "not-an-email", ""), Err(Error::Invalid(_))));
    assert_eq!(count(&mut client, "SELECT count(*) FROM users_account", &[]), 1);
}

#[test]
fn item3_onboarding_stores_answers_and_starts_a_conversation() {
    let db = test_database();
    let mut client = db.connect();
    let user = users::create(&mut client, "bo@example.org", "Bo").unwrap();
    let knee = fixture(KNEE);

    // A wrong question id is refused, and nothing is left behind.
    let err = onboarding::onboard(&mut client, "bo@example.org", KNEE, &answers(json!({"pain": 6}))).unwrap_err();
    assert!(err.to_string().contains("\"pain\" is not a question"), "{err}");
    assert_eq!(count(&mut client, "SELECT count(*) FROM journeys_onboarding_answer", &[]), 0);
    assert_eq!(count(&mut client, "SELECT count(*) FROM llmchat_conversation", &[]), 0);
    assert!(matches!(
        onboarding::onboard(&mut client, "bo@example.org", "no-such-journey", &Default::default()),
        Err(Error::NotFound(_))
    ));

    let given = answers(json!({"pain-level": 6, "hardest-activity": "Stairs"}));
    let started = onboarding::onboard(&mut client, "bo@example.org", KNEE, &given).unwrap();
    assert!(started.conversation_created);
    assert_eq!(started.answers_saved, 2);
    assert_eq!(started.unanswered, vec!["treatments-tried".to_string(), "main-goal".to_string()]);

    let stored = journeys::answers(&mut client, user.id, started.conversation.journey_id).unwrap();
    let stored: Vec<(String, Value)> = stored.into_iter().map(|a| (a.question_id, a.answer)).collect();
    assert_eq!(stored, vec![("hardest-activity".into(), json!("Stairs")), ("pain-level".into(), json!(6))]);

    let c = &started.conversation;
    assert_eq!((c.user_id, c.journey_slug.as_str(), c.status.as_str()), (user.id, KNEE, "active"));
    assert_eq!(c.title, knee.title);
    assert_eq!(c.thread_id.len(), 36, "thread id {} is a UUID", c.thread_id);
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM llmchat_conversation WHERE thread_id = $1", &[&c.thread_id]),
        1
    );
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM memory_point_status WHERE conversation_id = $1 AND status = 'not_started'",
            &[&c.id]
        ),
        knee.conversation_points.len() as i64
    );

    // Onboarding again updates answers and reuses the conversation.
    let again = onboarding::onboard(&mut client, "bo@example.org", KNEE, &answers(json!({"pain-level": 4}))).unwrap();
    assert!(!again.conversation_created);
    assert_eq!((again.conversation.id, again.conversation.thread_id.as_str()), (c.id, c.thread_id.as_str()));
    assert_eq!(count(&mut client, "SELECT count(*) FROM journeys_onboarding_answer WHERE answer = '4'::jsonb", &[]), 1);
}

#[test]
fn item4_chat_history_lives_in_the_langgraph_checkpoint_tables() {
    let db = test_database();
    let mut client = db.connect();
    let (_, c) = onboarded(&mut client, "cy@example.org", KNEE);
    assert!(conversations::history(&mut client, c.id).unwrap().is_empty());

    let first = chat(&mut client, c.id, "Hello there");
    let second = chat(&mut client, c.id, "Stairs are the hardest part");

    let rows = client
        .query(
            "SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints
             WHERE thread_id = $1 AND checkpoint_ns = '' ORDER BY checkpoint_id",
            &[&c.thread_id],
        )
        .unwrap();
    assert_eq!(rows.len(), 2, "one checkpoint per turn");
    let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, vec![first.checkpoint_id.clone(), second.checkpoint_id.clone()], "ids sort in turn order");
    assert_eq!(rows[0].get::<_, Option<String>>(1), None, "the first checkpoint has no parent");
    assert_eq!(
        rows[1].get::<_, Option<String>>(1),
        Some(first.checkpoint_id.clone()),
        "the second's parent is the first"
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.get::<_, Option<String>>(2), None, "PostgresSaver leaves `type` NULL");
        let cp: Value = row.get(3);
        assert_eq!(cp["v"], 4);
        assert_eq!(cp["id"], json!(ids[i]));
        assert_eq!(cp["updated_channels"], json!(["messages"]));
        assert!(cp["channel_values"].get("messages").is_none(), "messages live in a blob, not inline");
        let version = cp["channel_versions"]["messages"].as_str().unwrap();
        assert!(version.starts_with(&format!("{:032}.", i + 1)), "version {version}");
        assert_eq!(ids::uuid6_timestamp(&ids[i]).map(|_| &ids[i][14..15]), Some("6"), "{} is a UUIDv6", ids[i]);
        assert_eq!(cp["versions_seen"]["__input__"], json!({}));
        assert_eq!(cp["versions_seen"]["__start__"]["__start__"], json!(version));
        let metadata: Value = row.get(4);
        assert_eq!(metadata, json!({"source": "loop", "step": i + 1, "parents": {}}), "as PostgresSaver writes it");
    }

    let latest: Value = rows[1].get(3);
    let version = latest["channel_versions"]["messages"].as_str().unwrap().to_string();
    let blobs = client
        .query("SELECT version, type, blob FROM checkpoint_blobs WHERE thread_id = $1 AND channel = 'messages' ORDER BY version", &[&c.thread_id])
        .unwrap();
    assert_eq!(blobs.len(), 2, "one messages blob per turn");
    assert_eq!(blobs[1].get::<_, String>(0), version);
    assert_eq!(blobs[1].get::<_, String>(1), "json");
    let blob: Value = serde_json::from_slice(&blobs[1].get::<_, Vec<u8>>(2)).unwrap();
    let ids: Vec<&Value> = blob.as_array().unwrap().iter().map(|m| &m["id"]).collect();
    let id = |class: &str| json!(["langchain_core", "messages", class]);
    assert_eq!(ids, [&id("HumanMessage"), &id("AIMessage"), &id("HumanMessage"), &id("AIMessage")]);
    assert_eq!(blob[0]["lc"], 1);
    assert_eq!(blob[0]["kwargs"]["content"], "Hello there");
    assert_eq!(blob[2]["kwargs"]["content"], "Stairs are the hardest part");
    assert_eq!(blob[3]["kwargs"]["content"], json!(second.reply));

    let history = conversations::history(&mut client, c.id).unwrap();
    let seen: Vec<(Role, &str)> = history.iter().map(|m| (m.role, m.content.as_str())).collect();
    assert_eq!(
        seen,
        vec![
            (Role::Human, "Hello there"),
            (Role::Ai, first.reply.as_str()),
            (Role::Human, "Stairs are the hardest part"),
            (Role::Ai, second.reply.as_str()),
        ]
    );
    assert!(history.iter().all(|m| m.id.as_deref().is_some_and(|id| id.len() == 36)), "every message has a UUID id");
    assert!(matches!(conversations::history(&mut client, 999_999), Err(Error::NotFound(_))));
}

#[test]
fn item4_history_continues_a_thread_python_wrote_in_msgpack() {
    use rmpv::Value as M;
    let db = test_database();
    let mut client = db.connect();
    let (_, c) = onboarded(&mut client, "py@example.org", KNEE);

    // What PostgresSaver.put() leaves after a Python turn: msgpack, extension 5 per message.
    let python_message = |module: &str, class: &str, kind: &str, content: &str, id: &str| {
        let fields = M::Map(vec![
            (M::from("content"), M::from(content)),
            (M::from("additional_kwargs"), M::Map(vec![])),
            (M::from("response_metadata"), M::Map(vec![])),
            (M::from("type"), M::from(kind)),
            (M::from("name"), M::Nil),
            (M::from("id"), M::from(id)),
        ]);
        let mut data = Vec::new();
        rmpv::encode::write_value(
            &mut data,
            &M::Array(vec![M::from(module), M::from(class), fields, M::from("model_validate_json")]),
        )
        .unwrap();
        M::Ext(5, data)
    };
    let list = M::Array(vec![
        python_message("langchain_core.messages.human", "HumanMessage", "human", "Hi from Python", "p-1"),
        python_message("langchain_core.messages.ai", "AIMessage", "ai", "Hello from a model", "p-2"),
        python_message("my_app.types", "Reminder", "reminder", "", "p-3"),
    ]);
    let mut blob = Vec::new();
    rmpv::encode::write_value(&mut blob, &list).unwrap();
    let python_id = "1f0c9a1e-3f2b-6d4c-8002-0123456789ab";
    let version = "00000000000000000000000000000004.0.5270348391012";
    client
        .execute(
            "INSERT INTO checkpoint_blobs VALUES ($1, '', 'messages', $2, 'msgpack', $3)",
            &[&c.thread_id, &version, &blob],
        )
        .unwrap();
    let cp = json!({"v": 4, "id": python_id, "ts": "2025-06-01T10:00:00.000001+00:00", "channel_values": {"branch:to:chatbot": null},
                    "channel_versions": {"__start__": "00000000000000000000000000000002.0.1", "messages": version, "branch:to:chatbot": "00000000000000000000000000000004.0.3"},
                    "versions_seen": {"__input__": {}, "__start__": {"__start__": "00000000000000000000000000000001.0.2"}}, "updated_channels": ["messages"]});
    client
        .execute(
            "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
             VALUES ($1, '', $2, NULL, $3, '{\"source\": \"loop\", \"step\": 1, \"parents\": {}}')",
            &[&c.thread_id, &python_id, &cp],
        )
        .unwrap();

    let turn = chat(&mut client, c.id, "I tried physio");
    assert!(turn.checkpoint_id.as_str() > python_id, "{} must sort after Python's {python_id}", turn.checkpoint_id);
    let history = conversations::history(&mut client, c.id).unwrap();
    let seen: Vec<(Role, &str)> = history.iter().map(|m| (m.role, m.content.as_str())).collect();
    assert_eq!(
        seen,
        vec![
            (Role::Human, "Hi from Python"),
            (Role::Ai, "Hello from a model"),
            (Role::Unsupported, "[unsupported my_app.types.Reminder]"),
            (Role::Human, "I tried physio"),
            (Role::Ai, turn.reply.as_str()),
        ]
    );
    let row = client
        .query_one(
            "SELECT parent_checkpoint_id, checkpoint FROM checkpoints WHERE thread_id = $1 AND checkpoint_id = $2",
            &[&c.thread_id, &turn.checkpoint_id],
        )
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some(python_id));
    let ours: Value = row.get(1);
    let new_version = ours["channel_versions"]["messages"].as_str().unwrap();
    assert!(
        new_version.starts_with("00000000000000000000000000000005."),
        "{new_version} follows the highest version, 4"
    );
    assert_eq!(
        ours["channel_versions"]["branch:to:chatbot"], cp["channel_versions"]["branch:to:chatbot"],
        "other channels carry over"
    );
    assert_eq!(ours["channel_values"], json!({"branch:to:chatbot": null}), "inline values carry over");
    let blob_type: String = client
        .query_one(
            "SELECT type FROM checkpoint_blobs WHERE thread_id = $1 AND version = $2",
            &[&c.thread_id, &new_version],
        )
        .unwrap()
        .get(0);
    assert_eq!(blob_type, "msgpack", "the thread keeps Python's format");

    // A corrupt blob is reported with its thread and channel, not a crash.
    client.execute("UPDATE checkpoint_blobs SET blob = '\\xc1'::bytea WHERE thread_id = $1", &[&c.thread_id]).unwrap();
    match conversations::history(&mut client, c.id) {
        Err(Error::Payload { thread_id, channel, .. }) => {
            assert_eq!((thread_id, channel.as_str()), (c.thread_id.clone(), "messages"))
        }
        other => panic!("expected a payload error, got {other:?}"),
    }
}

#[test]
fn item5_conversation_points_are_loaded_and_listed_with_status() {
    let db = test_database();
    let mut client = db.connect();
    let (_, c) = onboarded(&mut client, "di@example.org", KNEE);
    let knee = fixture(KNEE);

    let listed = points::progress(&mut client, c.id).unwrap();
    assert_eq!(listed.len(), knee.conversation_points.len(), "as many points as the fixture has");
    for (p, expected) in listed.iter().zip(&knee.conversation_points) {
        assert_eq!(p.point.point_id, expected.id, "points come in fixture order");
        assert_eq!(p.point.title, expected.title);
        assert_eq!(p.point.covered_when, expected.covered_when);
        assert_eq!(p.status, PointStatus::NotStarted);
    }
    // Another journey's conversation lists that journey's points.
    let (_, other) = onboarded(&mut client, "di@example.org", DIABETES);
    let diabetes = points::progress(&mut client, other.id).unwrap();
    assert_eq!(diabetes.len(), fixture(DIABETES).conversation_points.len());
    assert!(points::progress(&mut client, 999_999).unwrap().is_empty());
}

#[test]
fn item6_chatting_updates_point_status_and_writes_memories_to_the_store() {
    let db = test_database();
    let mut client = db.connect();
    let (user_id, c) = onboarded(&mut client, "ed@example.org", KNEE);
    let memories = store::user_memories(user_id);

    let quiet = chat(&mut client, c.id, "Hello, where do we start?");
    assert!(quiet.covered.is_empty() && quiet.memory_key.is_none());
    assert!(store::search(&mut client, &memories).unwrap().is_empty(), "no memory from a message that covers nothing");

    let turn = chat(&mut client, c.id, "I TRIED physio last spring.");
    assert_eq!(turn.covered, vec!["treatments-tried".to_string()]);
    assert_eq!(turn.in_progress.as_deref(), Some("pain-goals"));
    assert!(turn.reply.contains("What has been tried so far"), "the reply acknowledges the point: {}", turn.reply);
    assert!(turn.reply.contains("Pain and personal goals"), "and moves to the first open point: {}", turn.reply);

    let status: Vec<(String, PointStatus, String)> = points::progress(&mut client, c.id)
        .unwrap()
        .into_iter()
        .map(|p| (p.point.point_id, p.status, p.note))
        .collect();
    assert_eq!(status[0], ("pain-goals".into(), PointStatus::InProgress, String::new()));
    assert_eq!(status[1], ("treatments-tried".into(), PointStatus::Covered, "I TRIED physio last spring.".into()));
    assert!(status[2..].iter().all(|(_, s, _)| *s == PointStatus::NotStarted));

    let prefix = format!("users.{user_id}.memories");
    let rows = client.query("SELECT key, value FROM store WHERE prefix = $1", &[&prefix]).unwrap();
    assert_eq!(rows.len(), 1, "one memory under {prefix}");
    assert_eq!(rows[0].get::<_, String>(0), turn.memory_key.clone().unwrap());
    let value: Value = rows[0].get(1);
    assert_eq!(value["statement"], "I TRIED physio last spring.");
    assert_eq!(value["point_ids"], json!(["treatments-tried"]));
    assert_eq!(value["conversation_id"], json!(c.id));
    let item =
        store::get(&mut client, &memories, &turn.memory_key.unwrap()).unwrap().expect("readable through the store API");
    assert_eq!(item.value, value);

    // Covering the point in progress finishes it; a covered point never goes back.
    let next = chat(&mut client, c.id, "My goal is to walk to the shops");
    assert_eq!(next.covered, vec!["pain-goals".to_string()]);
    let statuses: Vec<PointStatus> = points::progress(&mut client, c.id).unwrap().iter().map(|p| p.status).collect();
    assert_eq!(&statuses[..2], &[PointStatus::Covered, PointStatus::Covered]);
    assert_eq!(store::search(&mut client, &memories).unwrap().len(), 2);
}

#[test]
fn item7_deleting_a_conversation_removes_everything_that_belongs_to_it() {
    let db = test_database();
    let mut client = db.connect();
    let (user_id, doomed) = onboarded(&mut client, "fa@example.org", KNEE);
    let (_, sibling) = onboarded(&mut client, "fa@example.org", DIABETES);
    let (_, stranger) = onboarded(&mut client, "gu@example.org", KNEE);
    for c in [&doomed, &sibling, &stranger] {
        chat(&mut client, c.id, "I tried physio and my weight went up");
        chat(&mut client, c.id, "Stairs are hard");
        add_pending_write(&mut client, &c.thread_id);
    }
    store::put(&mut client, &store::user_memories(user_id), "preference", &json!({"statement": "prefers mornings"}))
        .unwrap();
    let before_sibling = thread_rows(&mut client, &sibling.thread_id);
    let before_stranger = thread_rows(&mut client, &stranger.thread_id);
    let statuses_elsewhere =
        count(&mut client, "SELECT count(*) FROM memory_point_status WHERE conversation_id <> $1", &[&doomed.id]);
    let store_before = count(&mut client, "SELECT count(*) FROM store", &[]);
    let from_doomed = conversations::memories(&mut client, doomed.id).unwrap().len() as i64;
    assert!(from_doomed > 0 && before_sibling.iter().all(|n| *n > 0));

    let deleted = erasure::delete_conversation(&mut client, doomed.id).unwrap();
    assert_eq!(deleted.checkpoint_rows.checkpoints, 2);
    assert_eq!(deleted.checkpoint_rows.checkpoint_blobs, 2);
    assert_eq!(deleted.checkpoint_rows.checkpoint_writes, 1);
    assert_eq!(deleted.store_items as i64, from_doomed);

    assert_eq!(thread_rows(&mut client, &doomed.thread_id), [0, 0, 0], "no checkpoint rows left for the thread");
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM memory_point_status WHERE conversation_id = $1", &[&doomed.id]),
        0
    );
    assert_eq!(count(&mut client, "SELECT count(*) FROM llmchat_conversation WHERE id = $1", &[&doomed.id]), 0);
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM store WHERE value->>'conversation_id' = $1",
            &[&doomed.id.to_string()]
        ),
        0
    );

    assert_eq!(
        thread_rows(&mut client, &sibling.thread_id),
        before_sibling,
        "the user's other conversation is untouched"
    );
    assert_eq!(thread_rows(&mut client, &stranger.thread_id), before_stranger, "other users are untouched");
    assert_eq!(count(&mut client, "SELECT count(*) FROM memory_point_status", &[]), statuses_elsewhere);
    assert_eq!(count(&mut client, "SELECT count(*) FROM store", &[]), store_before - from_doomed);
    assert!(store::get(&mut client, &store::user_memories(user_id), "preference").unwrap().is_some());
    assert!(users::get(&mut client, user_id).is_ok());
    assert!(matches!(erasure::delete_conversation(&mut client, doomed.id), Err(Error::NotFound(_))));
}

#[test]
fn item8_deleting_a_user_removes_everything_that_belongs_to_them() {
    let db = test_database();
    let mut client = db.connect();
    let (doomed, knee) = onboarded(&mut client, "ha@example.org", KNEE);
    let (_, diabetes) = onboarded(&mut client, "ha@example.org", DIABETES);
    let (kept, other) = onboarded(&mut client, "io@example.org", KNEE);
    for email in ["ha@example.org", "io@example.org"] {
        onboarding::onboard(&mut client, email, KNEE, &answers(json!({"pain-level": 5, "main-goal": "Dance"})))
            .unwrap();
    }
    for c in [&knee, &diabetes, &other] {
        chat(&mut client, c.id, "I tried physio");
        add_pending_write(&mut client, &c.thread_id);
    }
    for owner in [doomed, kept] {
        client
            .execute("INSERT INTO evidence_document (owner_id, title) VALUES ($1, 'X-ray report')", &[&owner])
            .unwrap();
        store::put(
            &mut client,
            &["users".to_string(), owner.to_string(), "profile".to_string()],
            "units",
            &json!({"v": "metric"}),
        )
        .unwrap();
    }
    store::put(&mut client, &["users".to_string(), doomed.to_string()], "root", &json!({"v": 1})).unwrap();
    // A namespace that merely starts with the same digits belongs to someone else.
    let lookalike = vec!["users".to_string(), format!("{doomed}0"), "memories".to_string()];
    store::put(&mut client, &lookalike, "k", &json!({"v": 1})).unwrap();

    let kept_rows = |client: &mut postgres::Client| {
        (
            count(client, "SELECT count(*) FROM journeys_onboarding_answer WHERE user_id = $1", &[&kept]),
            count(client, "SELECT count(*) FROM evidence_document WHERE owner_id = $1", &[&kept]),
            count(client, "SELECT count(*) FROM memory_point_status WHERE conversation_id = $1", &[&other.id]),
            thread_rows(client, &other.thread_id),
            count(client, "SELECT count(*) FROM store WHERE prefix LIKE $1", &[&format!("users.{kept}.%")]),
        )
    };
    let before = kept_rows(&mut client);

    let deleted = erasure::delete_user(&mut client, doomed).unwrap();
    assert_eq!(deleted.conversations.len(), 2);
    assert_eq!((deleted.onboarding_answers, deleted.evidence_documents), (2, 1));

    let threads = [&knee.thread_id, &diabetes.thread_id];
    for thread in threads {
        assert_eq!(thread_rows(&mut client, thread), [0, 0, 0], "checkpoint rows of thread {thread}");
    }
    let gone = [
        ("users_account", count(&mut client, "SELECT count(*) FROM users_account WHERE id = $1", &[&doomed])),
        (
            "journeys_onboarding_answer",
            count(&mut client, "SELECT count(*) FROM journeys_onboarding_answer WHERE user_id = $1", &[&doomed]),
        ),
        (
            "evidence_document",
            count(&mut client, "SELECT count(*) FROM evidence_document WHERE owner_id = $1", &[&doomed]),
        ),
        (
            "llmchat_conversation",
            count(&mut client, "SELECT count(*) FROM llmchat_conversation WHERE user_id = $1", &[&doomed]),
        ),
        (
            "memory_point_status",
            count(
                &mut client,
                "SELECT count(*) FROM memory_point_status WHERE conversation_id = ANY($1)",
                &[&vec![knee.id, diabetes.id]],
            ),
        ),
        (
            "store",
            count(
                &mut client,
                "SELECT count(*) FROM store WHERE prefix = $1 OR prefix LIKE $2",
                &[&format!("users.{doomed}"), &format!("users.{doomed}.%")],
            ),
        ),
    ];
    for (table, n) in gone {
        assert_eq!(n, 0, "{table} still has rows of the deleted user");
    }
    assert_eq!(kept_rows(&mut client), before, "the other user is untouched");
    assert!(store::get(&mut client, &lookalike, "k").unwrap().is_some(), "users.{doomed}0 is not users.{doomed}");
    assert!(users::get(&mut client, kept).is_ok());
    assert!(matches!(erasure::delete_user(&mut client, doomed), Err(Error::NotFound(_))));
}
