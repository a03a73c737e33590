//! Two squashes in a row, with a fixture change and a schema change written between them:
//! databases one and two squashes behind follow both, running the migrations written between
//! the squashes from the second record, and a fixture change survives the squash as its own file.

use migrator::migrate;
use migrator::migrations::MigrationSet;

use super::existing::{
    assert_schema_of_fresh, copy_of, database_with_rows, first, history_labels, row_hashes, sdm_chain, set_labels,
    squashed_once,
};
use super::{server, Tree};

const KNEE: &str = "knee-osteoarthritis-treatment";

/// Copies the owned chain's journey fixtures into `tree`, renaming the knee journey.
fn edited_fixtures(tree: &Tree) {
    let from = crate::test_chain().join("fixtures/journeys");
    let to = tree.root.join("fixtures/journeys");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().unwrap().to_string_lossy().starts_with(KNEE) {
            text = text.replacen("\"title\": \"", "\"title\": \"Revised: ", 1);
        }
        std::fs::write(to.join(path.file_name().unwrap()), text).unwrap();
    }
}

fn knee_title(client: &mut postgres::Client) -> String {
    client.query_one("SELECT title FROM journeys_journey WHERE slug = $1", &[&KNEE]).unwrap().get(0)
}

#[test]
fn databases_one_and_two_squashes_behind_follow_both() {
    let tree = copy_of(&squashed_once().join("migrations"));
    let last = MigrationSet::from_dir(&tree.dir()).unwrap().files.last().unwrap().version;
    edited_fixtures(&tree);
    let written = crate::fixtures::update(&tree.root, server(), false).unwrap().expect("the edit is a change");
    assert!(
        written.path.ends_with(format!("journeys/V{}__update_journeys.sql", last + 1)),
        "{}",
        written.path.display()
    );
    assert!(written.subjects.contains(&format!("1 statement(s): journey `{KNEE}`")), "{}", written.subjects);
    tree.write(
        &format!("users/V{}__users_note.sql", last + 2),
        "CREATE TABLE users_note (id bigint PRIMARY KEY, body text NOT NULL);\n",
    );
    let between = MigrationSet::from_dir(&tree.dir()).unwrap();
    assert_eq!(between.added_since_last_squash().len(), 2);

    let report = tree.squash();
    assert_eq!(report.after.len(), 9, "{}", report.summary());
    let loader = MigrationSet::from_dir(&squashed_once().join("migrations")).unwrap().files[7].relative_path();
    let was: Vec<String> =
        report.after[7..].iter().filter_map(|f| Some(f.was.as_ref()?.display().to_string())).collect();
    assert_eq!(
        was,
        [loader, written.path.strip_prefix(tree.dir()).unwrap().display().to_string()],
        "kept as they were"
    );
    assert!(tree.dir().join("squashes/0001.json").is_file() && tree.dir().join("squashes/0002.json").is_file());
    let second = MigrationSet::from_dir(&tree.dir()).unwrap();
    let record = second.last_squash().unwrap();
    assert_eq!(record.squash, 2);
    let kept: Vec<String> = record.kept_sql().map(|m| m.label()).collect();
    assert_eq!(
        kept,
        [format!("V{}__update_journeys", last + 1), format!("V{}__users_note", last + 2)],
        "the record keeps what was written between squashes"
    );
    assert!(second.added_since_last_squash().is_empty());

    // Two squashes behind: the pre-squash chain, with rows.
    let behind_two = database_with_rows(&sdm_chain());
    let mut client = behind_two.connect();
    let mut rows_before = row_hashes(&mut client);
    let listing = migrate::show_migrations(&migrate::status(&mut client, &second).unwrap());
    assert!(listing.contains("replaced by squash 1 (23 of its 23 migrations applied here)"), "{listing}");
    let run = migrate::run(&mut client, &second).unwrap_or_else(|e| panic!("{e:#}"));
    let steps: Vec<(u32, Vec<i32>)> =
        run.followed.iter().map(|f| (f.squash, f.caught_up.iter().map(|m| m.version).collect())).collect();
    assert_eq!(steps, [(1, vec![]), (2, vec![last + 1, last + 2])]);
    assert!(run.applied.is_empty());
    assert_eq!(history_labels(&mut client), set_labels(&second));
    assert_schema_of_fresh(&behind_two, &second);
    assert!(knee_title(&mut client).starts_with("Revised: "), "the fixture change reached the database");
    let mut rows_after = row_hashes(&mut client);
    assert_eq!(rows_after.remove("public.users_note").as_deref(), Some("empty"));
    // The fixture change rewrites a journey, and its upserts draw sequence values as upserts do.
    for changed in
        ["public.journeys_journey", "public.journeys_journey_id_seq", "public.memory_conversation_point_id_seq"]
    {
        rows_after.remove(changed);
        rows_before.remove(changed);
    }
    assert_eq!(rows_after, rows_before, "every other row stays as it was");

    // One squash behind: the first squashed set, before and after one of the later migrations.
    for (applied, caught_up) in [(8, vec![last + 1, last + 2]), (9, vec![last + 2])] {
        let behind_one = database_with_rows(&first(&between, applied));
        let mut client = behind_one.connect();
        let run = migrate::run(&mut client, &second).unwrap_or_else(|e| panic!("{e:#}"));
        let steps: Vec<(u32, Vec<i32>)> =
            run.followed.iter().map(|f| (f.squash, f.caught_up.iter().map(|m| m.version).collect())).collect();
        assert_eq!(steps, [(2, caught_up)]);
        assert_eq!(history_labels(&mut client), set_labels(&second));
        assert!(knee_title(&mut client).starts_with("Revised: "));
    }
}
