//! Checklist item 9 end to end: a full scenario through the `sdm` binary, and its error cases.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use devdb::test_database;

const KNEE: &str = "knee-osteoarthritis-treatment";

/// Runs `sdm` with `DATABASE_URL` set to `url` (or unset).
fn sdm(url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sdm"));
    cmd.args(args).env_remove("DATABASE_URL");
    if let Some(url) = url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.output().unwrap_or_else(|e| panic!("run sdm {args:?}: {e}"))
}

/// Runs `sdm --json ...`, expects success, and parses what it printed.
fn json(url: &str, args: &[&str]) -> Value {
    let out = sdm(Some(url), &[&["--json"], args].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sdm --json {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("sdm --json {args:?} printed no JSON ({e}):\n{stdout}"))
}

/// Runs `sdm` expecting failure; returns stderr after checking it is an `error:` line, not a panic.
fn fails(url: Option<&str>, args: &[&str]) -> String {
    let out = sdm(url, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "sdm {args:?} should fail; printed {}", String::from_utf8_lossy(&out.stdout));
    assert!(!stderr.contains("panicked"), "sdm {args:?} panicked: {stderr}");
    assert!(!stderr.trim().is_empty(), "sdm {args:?} failed without saying why");
    stderr
}

fn text(url: &str, args: &[&str]) -> String {
    let out = sdm(Some(url), args);
    assert!(out.status.success(), "sdm {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn item9_full_scenario_through_the_sdm_binary() {
    let db = test_database();
    let url = db.url();
    let fixtures_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/journeys");
    let fixtures_dir = fixtures_dir.to_str().expect("a UTF-8 path");

    // Deploy: the database is migrated, so migrate has nothing to do and every migration shows.
    assert_eq!(json(url, &["migrate"])["applied"], Value::Array(vec![]));
    let migrations = json(url, &["showmigrations"]);
    let migrations = migrations["migrations"].as_array().expect("a list");
    assert!(!migrations.is_empty());
    assert!(migrations.iter().all(|m| m["applied_on"].is_string()), "all applied: {migrations:?}");
    let listing = text(url, &["showmigrations"]);
    assert!(listing.contains("[X]") && !listing.contains("[ ]"), "{listing}");

    // Loading the journeys again is an upsert: same journeys, same points.
    let loaded = json(url, &["load-journeys", "--fixtures", fixtures_dir]);
    let slugs: Vec<&str> = loaded["journeys"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(slugs.contains(&KNEE), "{slugs:?}");
    let journeys = json(url, &["journey", "list"]);
    let knee =
        journeys["journeys"].as_array().unwrap().iter().find(|j| j["slug"] == KNEE).expect("knee journey listed");
    assert_eq!(knee["points"], 6);
    assert!(text(url, &["journey", "list"]).contains(KNEE));

    let user = json(url, &["user", "create", "--email", "Zoe@Example.org", "--name", "Zoe"]);
    assert_eq!((user["email"].as_str(), user["display_name"].as_str()), (Some("Zoe@Example.org"), Some("Zoe")));
    let user_id = user["id"].as_i64().expect("a user id");

    let onboarded = json(
        url,
        &[
            "onboard",
            "--email",
            "zoe@example.org",
            "--journey",
            KNEE,
            "--answers",
            r#"{"pain-level": 7, "hardest-activity": "Stairs"}"#,
        ],
    );
    assert_eq!(onboarded["created"], true);
    assert_eq!(onboarded["answers_saved"], 2);
    assert_eq!(onboarded["unanswered"], serde_json::json!(["treatments-tried", "main-goal"]));
    let conversation = onboarded["conversation_id"].as_i64().expect("a conversation id");
    let thread = onboarded["thread_id"].as_str().expect("a thread id").to_string();
    assert_eq!(thread.len(), 36);
    let id = conversation.to_string();

    let turn = json(url, &["chat", "--conversation", &id, "I tried physio for six weeks"]);
    assert_eq!(turn["covered"], serde_json::json!(["treatments-tried"]));
    assert_eq!(turn["thread_id"], thread.as_str());
    let reply = turn["reply"].as_str().expect("a reply").to_string();
    assert!(reply.contains("What has been tried so far"), "{reply}");
    // Plain output is the reply itself.
    let second = text(url, &["chat", "--conversation", &id, "My goal is to walk the dog"]);
    assert!(second.contains("Pain and personal goals"), "{second}");

    let history = json(url, &["history", "--conversation", &id]);
    let messages = history["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["human", "ai", "human", "ai"]);
    assert_eq!(messages[0]["content"], "I tried physio for six weeks");
    assert_eq!(messages[1]["content"], reply.as_str());
    assert_eq!(messages[3]["content"], second.trim_end());
    assert!(text(url, &["history", "--conversation", &id]).starts_with("human: I tried physio for six weeks\nai: "));

    let points = json(url, &["points", "--conversation", &id]);
    let statuses: Vec<(&str, &str)> = points["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["point_id"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses.len(), 6);
    assert_eq!(
        &statuses[..3],
        &[("pain-goals", "covered"), ("treatments-tried", "covered"), ("exercise-commitment", "not_started")]
    );
    assert!(text(url, &["points", "--conversation", &id]).contains("[x] pain-goals"));

    let deleted = json(url, &["conversation", "delete", &id]);
    assert_eq!((deleted["checkpoints"].as_i64(), deleted["checkpoint_blobs"].as_i64()), (Some(2), Some(2)));
    assert_eq!(deleted["store_items"], 2);
    assert!(fails(Some(url), &["history", "--conversation", &id]).contains(&format!("no conversation with id {id}")));

    let gone = json(url, &["user", "delete", "--email", "ZOE@example.org"]);
    assert_eq!(gone["user_id"].as_i64(), Some(user_id));
    assert_eq!(gone["onboarding_answers"], 2);
    assert!(
        fails(Some(url), &["onboard", "--email", "zoe@example.org", "--journey", KNEE]).contains("no user with email")
    );
}

#[test]
fn item9_sdm_errors_are_clear_and_exit_nonzero() {
    let db = test_database();
    let url = db.url();
    json(url, &["user", "create", "--email", "err@example.org"]);

    let err = fails(Some(url), &["onboard", "--email", "err@example.org", "--journey", "no-such-journey"]);
    assert!(err.starts_with("error: no journey with slug \"no-such-journey\""), "{err}");
    assert!(err.contains("sdm journey list"), "says what to do: {err}");

    let err = fails(Some(url), &["chat", "--conversation", "424242", "hello"]);
    assert!(err.starts_with("error: no conversation with id 424242"), "{err}");
    let err = fails(Some(url), &["points", "--conversation", "424242"]);
    assert!(err.starts_with("error: no conversation with id 424242"), "{err}");
    let err = fails(Some(url), &["conversation", "delete", "424242"]);
    assert!(err.starts_with("error: no conversation with id 424242"), "{err}");

    let err = fails(Some(url), &["onboard", "--email", "err@example.org", "--journey", KNEE, "--answers", "{not json"]);
    assert!(err.starts_with("error: --answers is not valid JSON"), "{err}");
    let err = fails(
        Some(url),
        &["onboard", "--email", "err@example.org", "--journey", KNEE, "--answers", r#"{"shoe-size": 42}"#],
    );
    assert!(err.contains("\"shoe-size\" is not a question"), "{err}");
    let err = fails(Some(url), &["user", "create", "--email", "ERR@example.org"]);
    assert!(err.contains("already exists"), "{err}");
    let err = fails(Some(url), &["chat", "--conversation", "abc", "hi"]);
    assert!(err.contains("conversation"), "a bad flag value is named: {err}");

    let err = fails(None, &["journey", "list"]);
    assert!(err.starts_with("error: no database: set DATABASE_URL or pass --database-url"), "{err}");
    let out = sdm(None, &["journey", "list"]);
    assert_eq!(out.status.code(), Some(1));

    // A server that is not there: the message names it without the password.
    let err = fails(Some("postgres://sdm:s3cret-pw@127.0.0.1:1/sdm"), &["journey", "list"]);
    assert!(err.starts_with("error: cannot connect to postgres://sdm:***@127.0.0.1:1/sdm"), "{err}");
    assert!(!err.contains("s3cret-pw"), "the password leaked: {err}");
    // --database-url wins over the environment.
    let listed = sdm(Some("postgres://sdm@127.0.0.1:1/sdm"), &["--json", "--database-url", url, "journey", "list"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
}

#[test]
fn onboarding_says_how_to_answer_and_refuses_an_answer_out_of_range() {
    let db = test_database();
    let url = db.url();
    text(url, &["user", "create", "--email", "range@example.org"]);
    let shown = text(url, &["onboard", "--email", "range@example.org", "--journey", KNEE]);
    assert!(shown.contains("\nUnanswered questions:\n  pain-level (a whole number from 0 to 10): "), "{shown}");
    let line = shown.lines().find(|l| l.starts_with("Answer them with: sdm onboard ")).expect("how to answer");
    let example = line.split_once(" --answers '").unwrap().1.trim_end_matches('\'');
    let answers: Value = serde_json::from_str(example).expect("the example is JSON");
    assert_eq!(answers["pain-level"], 5, "{line}");

    for wrong in ["99", "-5", "6.5"] {
        let args = ["onboard", "--email", "range@example.org", "--journey", KNEE, "--answers"];
        let err = fails(Some(url), &[&args[..], &[format!("{{\"pain-level\": {wrong}}}").as_str()]].concat());
        assert!(
            err.contains(&format!("answer to \"pain-level\" is {wrong}, expected a whole number from 0 to 10")),
            "{err}"
        );
    }
    let answered = text(url, &["onboard", "--email", "range@example.org", "--journey", KNEE, "--answers", example]);
    assert!(!answered.contains("Unanswered"), "the example answers every question: {answered}");
}
