//! The app's side: the `sdm` binary, run as production runs it, on a test database.

use std::process::Command;

use devdb::TestDatabase;
use serde_json::{json, Value};

use super::{workspace, JOURNEY};

/// Runs `sdm ARGS...` on `db`'s database from the workspace root.
pub fn sdm_output(db: &TestDatabase, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sdm"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .current_dir(workspace())
        .output()
        .unwrap_or_else(|e| panic!("run sdm: {e}"))
}

/// Runs `sdm --json ARGS...` and returns its JSON.
pub fn sdm(db: &TestDatabase, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = sdm_output(db, &all);
    assert!(out.status.success(), "sdm {} failed:\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("sdm {} printed no JSON ({e}):\n{}", args.join(" "), String::from_utf8_lossy(&out.stdout))
    })
}

/// Runs `sdm ARGS...` and returns what it printed for people.
pub fn sdm_text(db: &TestDatabase, args: &[&str]) -> String {
    let out = sdm_output(db, args);
    assert!(out.status.success(), "sdm {} failed:\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A user onboarded onto the knee journey: their conversation and its LangGraph thread.
pub struct Onboarded {
    pub email: String,
    pub user_id: i64,
    pub conversation_id: i64,
    pub thread_id: String,
}

impl Onboarded {
    /// Returns the conversation id as `sdm` takes it.
    pub fn conversation(&self) -> String {
        self.conversation_id.to_string()
    }

    /// Returns the dotted store namespace of the user's memories, as interop.py takes it.
    pub fn memories(&self) -> String {
        format!("users.{}.memories", self.user_id)
    }
}

/// Creates a user with `email` and onboards them onto [`JOURNEY`] through `sdm`.
pub fn onboard(db: &TestDatabase, email: &str) -> Onboarded {
    let user = sdm(db, &["user", "create", "--email", email, "--name", "Test Patient"]);
    let started = sdm(db, &["onboard", "--email", email, "--journey", JOURNEY, "--answers", r#"{"pain-level": 6}"#]);
    assert_eq!(started["created"], json!(true));
    Onboarded {
        email: email.to_string(),
        user_id: user["id"].as_i64().expect("user id"),
        conversation_id: started["conversation_id"].as_i64().expect("conversation id"),
        thread_id: started["thread_id"].as_str().expect("thread id").to_string(),
    }
}

/// Runs `sdm chat` for `who` and returns the turn's JSON.
pub fn chat(db: &TestDatabase, who: &Onboarded, message: &str) -> Value {
    sdm(db, &["chat", "--conversation", &who.conversation(), message])
}

/// Returns `sdm history` as (role, content) pairs.
pub fn history(db: &TestDatabase, who: &Onboarded) -> Vec<(String, String)> {
    let shown = sdm(db, &["history", "--conversation", &who.conversation()]);
    shown["messages"]
        .as_array()
        .expect("history messages")
        .iter()
        .map(|m| {
            (m["role"].as_str().unwrap_or_default().to_string(), m["content"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}
