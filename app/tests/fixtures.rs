//! Journey fixtures: the migrations load the committed fixtures exactly, an edit becomes a new
//! migration of the changes, bad fixtures are rejected with file and line, and loading into a
//! real database is all-or-nothing and idempotent.

use std::path::{Path, PathBuf};

use app::fixtures::{self, Journey};
use app::sql::quote_literal;
use app::Error;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/journeys")
}

fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

#[test]
fn a_migrated_database_holds_the_fixtures_exactly() {
    let journeys = fixtures::load_dir(&fixtures_dir()).unwrap_or_else(|e| panic!("load fixtures: {e}"));
    let db = devdb::test_database();
    let changes = fixtures::changes(&mut db.connect(), &journeys).unwrap();
    let subjects: Vec<&str> = changes.iter().map(|c| c.subject.as_str()).collect();
    assert!(
        subjects.is_empty(),
        "the migrations do not load fixtures/journeys/ as it is ({subjects:?}). Run `cargo xtask fixtures` and commit the result."
    );
    // The first load is the whole fixture set, as `cargo xtask fixtures` first wrote it.
    let path = fixtures::migration_path(&migrations_dir()).unwrap_or_else(|e| panic!("{e}"));
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(committed.starts_with("-- Loads the journeys"), "{}", path.display());
}

#[test]
fn changes_are_what_an_edit_makes_and_the_update_migration_applies_them() {
    let mut journeys = fixtures::load_dir(&fixtures_dir()).unwrap();
    let db = devdb::test_database();
    let mut client = db.connect();
    journeys[0].title.push_str(" (revised)");
    let point = journeys[1].conversation_points[0].id.clone();
    journeys[1].conversation_points[0].covered_when.push("a new phrase".into());
    let changes = fixtures::changes(&mut client, &journeys).unwrap();
    let subjects: Vec<String> = changes.iter().map(|c| c.subject.clone()).collect();
    assert_eq!(
        subjects,
        [
            format!("journey `{}`", journeys[0].slug),
            format!("conversation point `{point}` of journey `{}`", journeys[1].slug)
        ]
    );
    let sql = fixtures::update_sql(&changes);
    assert!(sql.starts_with("-- Updates the journeys and conversation points that changed"), "{sql}");
    assert_eq!(sql.lines().nth(2), Some("-- squash: keep"));
    // Finding the changes changed nothing; applying them does, once.
    assert_eq!(fixtures::changes(&mut client, &journeys).unwrap().len(), 2);
    client.batch_execute(&sql).unwrap();
    assert!(fixtures::changes(&mut client, &journeys).unwrap().is_empty());
}

#[test]
fn committed_fixtures_are_complete_journeys() {
    let journeys = fixtures::load_dir(&fixtures_dir()).unwrap_or_else(|e| panic!("load fixtures: {e}"));
    assert!(journeys.len() >= 3, "expected at least three journeys, found {}", journeys.len());
    let slugs: Vec<&str> = journeys.iter().map(|j| j.slug.as_str()).collect();
    let mut sorted = slugs.clone();
    sorted.sort();
    assert_eq!(slugs, sorted, "load_dir returns journeys sorted by slug");
    for j in &journeys {
        assert!(j.options.len() >= 3, "{}: {} options", j.slug, j.options.len());
        assert!(j.onboarding_questions.len() >= 3, "{}: {} questions", j.slug, j.onboarding_questions.len());
        assert!(j.conversation_points.len() >= 5, "{}: {} points", j.slug, j.conversation_points.len());
    }
}

#[test]
fn to_sql_starts_with_the_regenerate_command_and_the_keep_marker() {
    let sql = fixtures::to_sql(&fixtures::load_dir(&fixtures_dir()).unwrap());
    let mut lines = sql.lines();
    assert!(lines.next().unwrap().contains("`cargo xtask fixtures`"));
    assert_eq!(lines.next(), Some("-- squash: keep"));
    assert!(sql.contains("ON CONFLICT (slug) DO UPDATE SET"));
    assert!(sql.contains("ON CONFLICT (journey_id, point_id) DO UPDATE SET"));
}

#[test]
fn migration_path_requires_exactly_one_load_journeys_file() {
    let dir = TempDir::new("migration-path");
    let err = fixtures::migration_path(dir.path()).unwrap_err();
    assert!(err.to_string().contains("load_journeys") && err.to_string().contains("cargo xtask fixtures"), "{err}");

    dir.write("journeys/V3__journeys_tables.sql", "");
    dir.write("journeys/V8__load_journeys.sql", "");
    assert_eq!(fixtures::migration_path(dir.path()).unwrap(), dir.path().join("journeys/V8__load_journeys.sql"));

    dir.write("V9__load_journeys.sql", "");
    let err = fixtures::migration_path(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("V8__load_journeys.sql") && err.contains("V9__load_journeys.sql") && err.contains("exactly one"),
        "{err}"
    );

    let flat = TempDir::new("migration-path-flat");
    flat.write("V2__load_journeys.sql", "");
    flat.write("V3__load_journeys_old.sql", "");
    assert_eq!(fixtures::migration_path(flat.path()).unwrap(), flat.path().join("V2__load_journeys.sql"));
}

// ---- bad fixtures: each names the file and the line of the problem ----

/// A valid fixture whose lines the bad cases below edit; `slug` varies per file.
fn valid_fixture(slug: &str) -> String {
    format!(
        r#"{{
  "slug": "{slug}",
  "title": "Hip pain treatment",
  "description": "Compare ways to manage hip pain.",
  "options": [
    {{ "id": "exercise", "label": "Exercise", "summary": "Strength work." }},
    {{ "id": "surgery", "label": "Hip replacement", "summary": "An operation." }}
  ],
  "onboarding_questions": [
    {{ "id": "pain-level", "prompt": "How bad is the pain?", "kind": "scale" }},
    {{ "id": "hardest", "prompt": "What is hardest?", "kind": "choice", "choices": ["Walking", "Stairs"] }},
    {{ "id": "goal", "prompt": "What is your goal?", "kind": "text" }}
  ],
  "conversation_points": [
    {{ "id": "pain-goals", "title": "Goals", "description": "", "covered_when": ["goal", "walk"] }},
    {{ "id": "surgery-views", "title": "Surgery", "description": "", "covered_when": ["surgery"] }}
  ]
}}
"#
    )
}

/// Returns the 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("`{needle}` not in fixture")) + 1
}

/// Writes `files` into a fresh folder and returns load_dir's error (failing if it succeeds).
fn load_error(case: &str, files: &[(&str, String)]) -> (PathBuf, usize, usize, String) {
    let dir = TempDir::new(case);
    for (name, text) in files {
        dir.write(name, text);
    }
    match fixtures::load_dir(dir.path()) {
        Err(Error::Fixture { path, line, column, message }) => {
            let shown = Error::Fixture { path: path.clone(), line, column, message: message.clone() }.to_string();
            assert!(shown.starts_with(&format!("{}:{line}:{column}: ", path.display())), "{shown}");
            (path, line, column, message)
        }
        Err(other) => panic!("{case}: expected a fixture error, got: {other}"),
        Ok(journeys) => panic!("{case}: expected an error, loaded {} journeys", journeys.len()),
    }
}

/// Asserts the error is in `file` at `line`, with a message containing every part of `says`.
fn assert_fixture_error(case: &str, files: &[(&str, String)], file: &str, line: usize, says: &[&str]) {
    let (path, got_line, column, message) = load_error(case, files);
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some(file),
        "{case}: wrong file in {}: {message}",
        path.display()
    );
    assert_eq!(got_line, line, "{case}: wrong line ({got_line}:{column}): {message}");
    let text = &files.iter().find(|(name, _)| *name == file).expect("the named file is one of the case's").1;
    let width = text.lines().nth(line - 1).map_or(0, |l| l.chars().count());
    assert!(
        (1..=width + 1).contains(&column),
        "{case}: column {column} is not on line {line} ({width} wide): {message}"
    );
    for part in says {
        assert!(message.contains(part), "{case}: message does not mention `{part}`: {message}");
    }
}

#[test]
fn invalid_json_names_file_and_line() {
    let good = valid_fixture("hip-pain");
    let bad = good.replace(r#""title": "Hip pain treatment","#, r#""title": "Hip pain treatment""#);
    let line = line_of(&bad, "\"description\"");
    assert_fixture_error("bad-json", &[("hip.json", bad)], "hip.json", line, &["invalid JSON"]);

    assert_fixture_error("empty-file", &[("empty.json", String::new())], "empty.json", 1, &["invalid JSON"]);
}

#[test]
fn unknown_field_names_file_and_line() {
    let bad = valid_fixture("hip-pain").replace(r#""kind": "text" }"#, r#""kind": "text", "hint": "x" }"#);
    let line = line_of(&bad, "\"hint\"");
    assert_fixture_error(
        "unknown-field",
        &[("hip.json", bad)],
        "hip.json",
        line,
        &["unknown field `hint`", "remove it"],
    );

    let bad = valid_fixture("hip-pain").replace("  \"title\"", "  \"owner\": \"me\",\n  \"title\"");
    let line = line_of(&bad, "\"owner\"");
    assert_fixture_error("unknown-top-field", &[("hip.json", bad)], "hip.json", line, &["unknown field `owner`"]);

    let bad = valid_fixture("hip-pain").replace(r#""kind": "scale""#, r#""kind": "slider""#);
    let line = line_of(&bad, "slider");
    assert_fixture_error("unknown-kind", &[("hip.json", bad)], "hip.json", line, &["slider"]);
}

#[test]
fn missing_field_names_file_and_line() {
    let bad = valid_fixture("hip-pain").replace("  \"title\": \"Hip pain treatment\",\n", "");
    // serde_json reports a missing field where the object ends.
    let line = bad.lines().count();
    assert_fixture_error("missing-title", &[("hip.json", bad)], "hip.json", line, &["missing field `title`", "add it"]);

    let bad = valid_fixture("hip-pain").replace(r#", "summary": "An operation." }"#, " }");
    let line = line_of(&bad, "Hip replacement");
    assert_fixture_error("missing-summary", &[("hip.json", bad)], "hip.json", line, &["missing field `summary`"]);
}

#[test]
fn duplicate_slug_across_files_points_at_the_second_and_names_the_first() {
    let first = valid_fixture("hip-pain");
    let second = format!("\n\n{}", valid_fixture("hip-pain"));
    let line = line_of(&second, "\"slug\"");
    assert_eq!(line, 4);
    assert_fixture_error(
        "duplicate-slug",
        &[("a-hip.json", first), ("b-hip.json", second)],
        "b-hip.json",
        line,
        &["hip-pain", "a-hip.json:2:"],
    );
}

#[test]
fn duplicate_ids_within_a_journey_point_at_the_duplicate() {
    let good = valid_fixture("hip-pain");

    let bad = good.replace(r#""id": "surgery", "label""#, r#""id": "exercise", "label""#);
    let line = line_of(&bad, "Hip replacement");
    assert_fixture_error(
        "duplicate-option",
        &[("hip.json", bad)],
        "hip.json",
        line,
        &["duplicate option id `exercise`"],
    );

    let bad = good.replace(r#""id": "goal""#, r#""id": "pain-level""#);
    let line = line_of(&bad, "What is your goal?");
    assert_fixture_error(
        "duplicate-question",
        &[("hip.json", bad)],
        "hip.json",
        line,
        &["duplicate onboarding question id `pain-level`"],
    );

    let bad = good.replace(r#""id": "surgery-views""#, r#""id": "pain-goals""#);
    let line = line_of(&bad, r#""title": "Surgery""#);
    assert_fixture_error(
        "duplicate-point",
        &[("hip.json", bad)],
        "hip.json",
        line,
        &["duplicate conversation point id `pain-goals`"],
    );
}

#[test]
fn empty_slug_and_title_are_rejected() {
    let good = valid_fixture("hip-pain");
    let bad = good.replace(r#""slug": "hip-pain""#, r#""slug": """#);
    assert_fixture_error("empty-slug", &[("hip.json", bad)], "hip.json", 2, &["slug is empty"]);

    let bad = good.replace(r#""title": "Hip pain treatment""#, r#""title": "  ""#);
    assert_fixture_error("empty-title", &[("hip.json", bad)], "hip.json", 3, &["title is empty"]);
}

#[test]
fn slugs_and_ids_must_match_the_pattern() {
    let good = valid_fixture("hip-pain");
    let bad = good.replace(r#""slug": "hip-pain""#, r#""slug": "Hip Pain""#);
    assert_fixture_error("bad-slug", &[("hip.json", bad)], "hip.json", 2, &["`Hip Pain`", "[a-z0-9-]+"]);

    let bad = good.replace(r#""id": "surgery-views""#, r#""id": "surgery_views""#);
    let line = line_of(&bad, "surgery_views");
    assert_fixture_error("bad-point-id", &[("hip.json", bad)], "hip.json", line, &["`surgery_views`", "[a-z0-9-]+"]);

    let bad = good.replace(r#""id": "hardest""#, r#""id": "hardest!""#);
    let line = line_of(&bad, "hardest!");
    assert_fixture_error("bad-question-id", &[("hip.json", bad)], "hip.json", line, &["`hardest!`"]);
}

#[test]
fn empty_covered_when_is_rejected() {
    let good = valid_fixture("hip-pain");
    let bad = good.replace(r#""covered_when": ["surgery"]"#, r#""covered_when": []"#);
    let line = line_of(&bad, "surgery-views");
    assert_fixture_error(
        "empty-covered-when",
        &[("hip.json", bad)],
        "hip.json",
        line,
        &["`surgery-views`", "empty `covered_when`"],
    );

    let bad = good.replace(r#"["goal", "walk"]"#, "[\"goal\",\n      \"\"]");
    let line = line_of(&bad, "      \"\"]");
    assert_fixture_error("empty-phrase", &[("hip.json", bad)], "hip.json", line, &["empty phrase"]);

    let bad = good.replace(r#"["surgery"]"#, r#"["Surgery"]"#);
    let line = line_of(&bad, r#"["Surgery"]"#);
    assert_fixture_error("uppercase-phrase", &[("hip.json", bad)], "hip.json", line, &["not lowercase", "`surgery`"]);
}

#[test]
fn nul_characters_are_rejected() {
    let bad =
        valid_fixture("hip-pain").replace(r#""summary": "Strength work.""#, r#""summary": "Strength\u0000work.""#);
    let line = line_of(&bad, "Strength");
    assert_fixture_error("nul", &[("hip.json", bad)], "hip.json", line, &["NUL"]);
}

#[test]
fn question_choices_must_fit_the_kind() {
    let good = valid_fixture("hip-pain");
    let bad = good.replace(r#", "choices": ["Walking", "Stairs"]"#, "");
    let line = line_of(&bad, "What is hardest?");
    assert_fixture_error("choice-without-choices", &[("hip.json", bad)], "hip.json", line, &["`hardest`", "choices"]);

    let bad = good.replace(r#""kind": "text" }"#, r#""kind": "text", "choices": ["a", "b"] }"#);
    let line = line_of(&bad, "What is your goal?");
    assert_fixture_error("text-with-choices", &[("hip.json", bad)], "hip.json", line, &["`goal`", "text question"]);
}

#[test]
fn one_bad_file_fails_the_whole_load() {
    // The bad file sorts last: the good ones before it are parsed and still nothing is returned.
    let bad = valid_fixture("zz-bad").replace(r#""covered_when": ["surgery"]"#, r#""covered_when": []"#);
    let (path, ..) = load_error(
        "all-or-nothing",
        &[("a.json", valid_fixture("aa-good")), ("b.json", valid_fixture("bb-good")), ("z.json", bad)],
    );
    assert!(path.ends_with("z.json"), "{}", path.display());
}

#[test]
fn non_json_files_are_ignored_and_order_is_by_slug() {
    let dir = TempDir::new("ignores-other-files");
    dir.write("1-zebra.json", &valid_fixture("zebra"));
    dir.write("2-alpha.json", &valid_fixture("alpha"));
    dir.write("README.md", "not a fixture");
    dir.write("draft.json.bak", "{");
    let journeys = fixtures::load_dir(dir.path()).unwrap();
    assert_eq!(journeys.iter().map(|j| j.slug.as_str()).collect::<Vec<_>>(), ["alpha", "zebra"]);
}

#[test]
fn missing_folder_is_an_error_naming_it() {
    let dir = TempDir::new("missing-folder");
    let missing = dir.path().join("nope");
    let err = fixtures::load_dir(&missing).unwrap_err();
    let cause = std::error::Error::source(&err).expect("the io error is the source").to_string();
    let shown = err.to_string();
    assert!(shown.contains("nope"), "{shown}");
    assert!(!shown.contains(&cause), "the cause is printed by the chain, not repeated in the message: {shown}");
}

// ---- against a real database ----

fn counts(client: &mut postgres::Client) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM journeys_journey), (SELECT count(*) FROM memory_conversation_point)",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

fn expected_counts(journeys: &[Journey]) -> (i64, i64) {
    (journeys.len() as i64, journeys.iter().map(|j| j.conversation_points.len() as i64).sum())
}

#[test]
fn migrated_database_holds_the_fixtures_and_upsert_is_idempotent() {
    let db = devdb::test_database();
    let mut client = db.connect();
    let journeys = fixtures::load_dir(&fixtures_dir()).unwrap();
    // The load_journeys migration already ran while the database was migrated.
    assert_eq!(counts(&mut client), expected_counts(&journeys));
    let stamps = |client: &mut postgres::Client| -> Vec<String> {
        client
            .query("SELECT slug || ' ' || updated_at::text FROM journeys_journey ORDER BY slug", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let before = stamps(&mut client);

    fixtures::upsert(&mut client, &journeys).unwrap();
    assert_eq!(counts(&mut client), expected_counts(&journeys));
    fixtures::upsert(&mut client, &journeys).unwrap();
    assert_eq!(counts(&mut client), expected_counts(&journeys));
    assert_eq!(stamps(&mut client), before, "an unchanged fixture must not touch updated_at");

    let points: Vec<(String, String, i32, serde_json::Value)> = client
        .query(
            "SELECT j.slug, p.point_id, p.sort_order, p.covered_when FROM memory_conversation_point p \
             JOIN journeys_journey j ON j.id = p.journey_id ORDER BY j.slug, p.sort_order",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let expected: Vec<(String, String, i32, serde_json::Value)> = journeys
        .iter()
        .flat_map(|j| {
            j.conversation_points
                .iter()
                .enumerate()
                .map(move |(i, p)| (j.slug.clone(), p.id.clone(), i as i32 + 1, serde_json::json!(p.covered_when)))
        })
        .collect();
    assert_eq!(points, expected);

    let options: serde_json::Value =
        client.query_one("SELECT options FROM journeys_journey WHERE slug = $1", &[&journeys[0].slug]).unwrap().get(0);
    assert_eq!(options, serde_json::to_value(&journeys[0].options).unwrap());
}

#[test]
fn changed_fixture_updates_rows_in_place() {
    let db = devdb::test_database();
    let mut client = db.connect();
    let mut journeys = fixtures::load_dir(&fixtures_dir()).unwrap();
    let id_before: i64 =
        client.query_one("SELECT id FROM journeys_journey WHERE slug = $1", &[&journeys[0].slug]).unwrap().get(0);
    journeys[0].title = "It's a renamed journey \\ with a backslash".to_string();
    journeys[0].conversation_points[0].covered_when.push("o'clock".to_string());
    fixtures::upsert(&mut client, &journeys).unwrap();

    let row = client.query_one("SELECT id, title FROM journeys_journey WHERE slug = $1", &[&journeys[0].slug]).unwrap();
    assert_eq!(row.get::<_, i64>(0), id_before, "the journey keeps its id (conversations point at it)");
    assert_eq!(row.get::<_, String>(1), journeys[0].title);
    let covered: serde_json::Value = client
        .query_one(
            "SELECT covered_when FROM memory_conversation_point WHERE journey_id = $1 AND point_id = $2",
            &[&id_before, &journeys[0].conversation_points[0].id],
        )
        .unwrap()
        .get(0);
    assert_eq!(covered, serde_json::json!(journeys[0].conversation_points[0].covered_when));
}

#[test]
fn nothing_is_written_when_any_fixture_is_bad() {
    let db = devdb::test_database();
    let mut client = db.connect();
    let before = counts(&mut client);

    let dir = TempDir::new("db-all-or-nothing");
    dir.write("a.json", &valid_fixture("aa-new-journey"));
    dir.write("b.json", &valid_fixture("bb-new-journey").replace(r#""slug": "bb-new-journey""#, r#""slug": "BB""#));
    // The xtask and sdm load the same way: validate everything, then upsert.
    let result = fixtures::load_dir(dir.path()).and_then(|journeys| fixtures::upsert(&mut client, &journeys));
    assert!(matches!(result, Err(Error::Fixture { .. })), "{:?}", result.err().map(|e| e.to_string()));
    assert_eq!(counts(&mut client), before);
}

#[test]
fn upsert_rolls_back_every_journey_when_one_statement_fails() {
    let db = devdb::test_database();
    let mut client = db.connect();
    let before = counts(&mut client);

    let dir = TempDir::new("db-rollback");
    dir.write("a.json", &valid_fixture("aa-new-journey"));
    dir.write("z.json", &valid_fixture("zz-new-journey"));
    let mut journeys = fixtures::load_dir(dir.path()).unwrap();
    // Postgres rejects NUL in text, so the last journey's insert fails after the first one ran.
    journeys[1].title = "bad\0title".to_string();
    let err = fixtures::upsert(&mut client, &journeys).unwrap_err().to_string();
    assert!(err.contains("zz-new-journey"), "{err}");
    assert_eq!(counts(&mut client), before, "the first journey's rows must be rolled back too");
}

#[test]
fn fixture_sql_literals_read_back_unchanged_whatever_standard_conforming_strings() {
    let db = devdb::test_database();
    let mut client = db.connect();
    let texts = ["plain", "it's", r"back\slash", r"\'", r"C:\new\table", "two '' quotes", "line\nbreak", "ünïcødé", ""];
    for setting in ["on", "off"] {
        client.batch_execute(&format!("SET standard_conforming_strings = {setting}")).unwrap();
        for text in texts {
            let literal = quote_literal(text);
            let back: String = client.query_one(&format!("SELECT {literal}::text"), &[]).unwrap().get(0);
            assert_eq!(back, text, "{literal} with standard_conforming_strings = {setting}");
        }
    }
}

/// A folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(case: &str) -> TempDir {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let path = std::env::temp_dir().join(format!("sdm-fixtures-{case}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
