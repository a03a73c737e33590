//! `sdm check` and `sdm showmigrations` through the binary, as a user runs them: drift listed
//! object by object, and a history that does not match the files flagged with a non-zero exit.

use std::process::{Command, Output};

use app::migrate::HISTORY_TABLE;
use devdb::{empty_database, test_database};

fn sdm(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sdm"))
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .unwrap_or_else(|e| panic!("run sdm {args:?}: {e}"))
}

/// Returns (exit code, stdout, stderr).
fn run(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = sdm(url, args);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stderr.contains("panicked"), "sdm {args:?} panicked: {stderr}");
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn check_passes_on_a_migrated_database_and_lists_each_drifted_object() {
    let db = test_database();
    let (code, stdout, stderr) = run(db.url(), &["check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("The schema matches migrations/migrations.lock.json ("), "{stdout}");
    assert!(stdout.trim_end().ends_with("objects)."), "{stdout}");

    db.connect()
        .batch_execute(
            "CREATE INDEX users_account_created_idx ON users_account (created_at);
             ALTER TABLE users_account ALTER COLUMN display_name DROP NOT NULL;
             DROP INDEX evidence_document_owner_idx;",
        )
        .unwrap();
    let (code, stdout, stderr) = run(db.url(), &["check"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.starts_with("The schema differs from migrations/migrations.lock.json in 3 object(s)"), "{stdout}");
    for line in [
        "  column public.users_account.display_name: expected `text NOT NULL DEFAULT ''::text`, found `text DEFAULT ''::text`",
        "  index public.evidence_document_owner_idx: missing (expected `CREATE INDEX evidence_document_owner_idx ON public.evidence_document USING btree (owner_id)`)",
        "  index public.users_account_created_idx: not expected (found `CREATE INDEX users_account_created_idx ON public.users_account USING btree (created_at)`)",
    ] {
        assert!(stdout.contains(line), "expected {line:?} in:\n{stdout}");
    }
    assert!(
        stderr.starts_with("error: the schema differs from the one its migrations give in 3 object(s)"),
        "{stderr}"
    );

    let (code, stdout, _) = run(db.url(), &["--json", "check"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["equal"], false);
    assert_eq!(json["differences"].as_array().unwrap().len(), 3);
    // One document on stdout: the failure is in it, not in a second `{"error": ...}`.
    assert!(json["error"].as_str().unwrap().starts_with("the schema differs"), "{json}");
}

#[test]
fn check_on_a_database_that_is_not_migrated_says_to_migrate_first() {
    let db = empty_database();
    let (code, stdout, stderr) = run(db.url(), &["check"]);
    assert_eq!(code, 1, "{stdout}");
    let set = app::migrations::embedded().unwrap();
    let n = set.files.len();
    assert!(
        stderr.contains(&format!(
            "error: this database has not applied {n} of its {n} migrations ({}",
            set.files[0].label()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("run `sdm migrate` first"), "{stderr}");
}

#[test]
fn showmigrations_flags_a_history_that_does_not_match_the_files() {
    let db = test_database();
    let (code, stdout, _) = run(db.url(), &["showmigrations"]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("[!]") && !stdout.contains("[ ]"), "{stdout}");

    // Another migration recorded at the first file's version (the bug a version-only match hid),
    // and a later file edited since it was applied: migrate refuses on the first.
    let set = app::migrations::embedded().unwrap();
    assert!(set.files.len() >= 2, "the workspace has at least two migrations");
    let (renamed, other, edited) = (&set.files[0], &set.files[set.files.len() - 1], &set.files[set.files.len() - 1]);
    let (version, stranger) = (renamed.version, format!("V{}__{}", renamed.version, other.name));
    let mut client = db.connect();
    client
        .batch_execute(&format!(
            "UPDATE {HISTORY_TABLE} SET name = '{}' WHERE version = {version};
             UPDATE {HISTORY_TABLE} SET checksum = '42' WHERE version = {};",
            other.name, edited.version
        ))
        .unwrap();
    let (code, stdout, stderr) = run(db.url(), &["showmigrations"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(&format!(" [!] {}  (the database applied {stranger} as version {version})\n", renamed.label())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            " [!] {}  (the database applied another version of it: checksum 42, the file's is ",
            edited.label()
        )),
        "{stdout}"
    );
    assert!(
        stderr.starts_with(&format!(
            "error: `sdm migrate` would refuse this database: migration {stranger} was changed after it was applied"
        )),
        "{stderr}"
    );

    let (code, stdout, _) = run(db.url(), &["--json", "showmigrations"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let row = json["migrations"].as_array().unwrap().iter().find(|m| m["version"] == version).unwrap().clone();
    assert_eq!(row["state"]["changed"]["recorded"], stranger.as_str());
    assert!(row["applied_on"].is_null(), "{} is not applied: {row}", renamed.label());
    assert!(json["problem"].as_str().unwrap().contains(&stranger));
    assert!(json["error"].as_str().unwrap().starts_with("`sdm migrate` would refuse this database"), "{json}");
}
