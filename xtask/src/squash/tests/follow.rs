//! Databases migrated with the old chain follow the squash: `sdm migrate` (here its library,
//! `migrator::migrate::run`) rewrites their history to the squashed set without running it, every row
//! stays, later migrations apply, and eight concurrent runners move a database once.

use std::sync::{Arc, Barrier};

use app::assistant::GuideAssistant;
use app::extractor::PhraseExtractor;
use migrator::migrate::{self, MigrationState};
use migrator::migrations::MigrationSet;

use super::existing::{
    assert_schema_of_fresh, copy_of, database_with_rows, history_labels, row_hashes, sdm_chain, set_labels,
    squashed_once,
};

#[test]
fn an_old_chain_database_follows_the_squash_keeps_every_row_then_takes_a_new_migration() {
    let chain = sdm_chain();
    let squashed = MigrationSet::from_dir(&squashed_once().join("migrations")).unwrap();
    assert_eq!(squashed.squashes.len(), 1);
    let db = database_with_rows(&chain);
    let mut client = db.connect();
    let rows_before = row_hashes(&mut client);
    assert!(rows_before.values().filter(|h| *h != "empty").count() >= 8, "rows to keep: {rows_before:?}");

    // showmigrations tells what it sees: the replaced chain applied, the squashed set to record.
    let statuses = migrate::status(&mut client, &squashed).unwrap();
    let listing = migrate::show_migrations(&statuses);
    let (new_first, old_first) = (squashed.files[0].label(), chain.files[0].label());
    assert!(listing.contains(&format!("users\n [=] {new_first}\n")), "{listing}");
    assert!(
        listing.contains(&format!("replaced by squash 1 (23 of its 23 migrations applied here):\n [X] {old_first}\n"))
    );
    assert!(listing.contains(&format!(" [X] {}\n", chain.files[3].label())), "{listing}");
    assert!(!listing.contains("[!]"), "{listing}");
    migrate::check_history(&mut client, &squashed).expect("migrate would follow, not refuse");

    let run = migrate::run(&mut client, &squashed).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(run.applied.is_empty(), "no squashed file ran: {:?}", run.applied);
    assert_eq!(run.followed.len(), 1);
    let followed = &run.followed[0];
    assert_eq!((followed.squash, followed.replaced, followed.squashed.len()), (1, 23, 8));
    assert!(followed.caught_up.is_empty());
    let said = followed.describe().join("\n");
    assert!(said.starts_with("Followed squash 1 ("), "{said}");
    assert!(said.contains("the 23 replaced migrations build"), "{said}");
    let new_last = squashed.files[7].label();
    assert!(said
        .contains(&format!("the 8 squashed migrations ({new_first} to {new_last}) in their place; none of them ran")));

    assert_eq!(history_labels(&mut client), set_labels(&squashed));
    assert_schema_of_fresh(&db, &squashed);
    assert_eq!(row_hashes(&mut client), rows_before, "every row stays as it was");
    let statuses = migrate::status(&mut client, &squashed).unwrap();
    assert!(statuses.iter().all(|s| s.state == MigrationState::Applied), "{statuses:?}");
    let drift = migrate::drift(&mut client, &squashed).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(drift.differences.is_empty(), "{:?}", drift.differences);

    // The product works on the followed database, and a second run has nothing to do.
    let conversation: i64 = client.query_one("SELECT min(id) FROM llmchat_conversation", &[]).unwrap().get(0);
    app::chat::turn(&mut client, conversation, "What about injections?", &GuideAssistant, &PhraseExtractor).unwrap();
    assert_eq!(migrate::run(&mut client, &squashed).unwrap(), migrate::MigrationRun::default());

    // A migration written after the squash applies as usual.
    let later = copy_of(&squashed_once().join("migrations"));
    let next = squashed.files.last().unwrap().version + 1;
    later.write(&format!("users/V{next}__users_nickname.sql"), "ALTER TABLE users_account ADD COLUMN nickname text;\n");
    let later_set = MigrationSet::from_dir(&later.dir()).unwrap();
    assert_eq!(
        later_set.added_since_last_squash().iter().map(|f| f.label()).collect::<Vec<_>>(),
        [format!("V{next}__users_nickname")]
    );
    let run = migrate::run(&mut client, &later_set).unwrap();
    assert!(run.followed.is_empty());
    assert_eq!(run.applied.iter().map(|m| m.version).collect::<Vec<_>>(), [next]);
    assert_eq!(history_labels(&mut client), set_labels(&later_set));
}

#[test]
fn a_fresh_database_from_the_squashed_set_follows_nothing() {
    let squashed = MigrationSet::from_dir(&squashed_once().join("migrations")).unwrap();
    let db = super::server().test_database(None).unwrap();
    let mut client = db.connect();
    let run = migrate::run(&mut client, &squashed).unwrap();
    assert!(run.followed.is_empty());
    assert_eq!(run.applied.len(), 8);
    assert_eq!(history_labels(&mut client), set_labels(&squashed));
}

#[test]
fn eight_concurrent_runners_move_an_old_chain_database_once() {
    let squashed = Arc::new(MigrationSet::from_dir(&squashed_once().join("migrations")).unwrap());
    let db = database_with_rows(&sdm_chain());
    let rows_before = row_hashes(&mut db.connect());
    let url = db.url().to_string();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (set, url, barrier) = (squashed.clone(), url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut client = migrator::db::connect(&url).unwrap();
                barrier.wait();
                migrate::run(&mut client, &set)
            })
        })
        .collect();
    let runs: Vec<migrate::MigrationRun> =
        handles.into_iter().map(|h| h.join().unwrap().unwrap_or_else(|e| panic!("{e:#}"))).collect();
    assert_eq!(runs.iter().map(|r| r.followed.len()).sum::<usize>(), 1, "exactly one runner moved it");
    assert!(runs.iter().all(|r| r.applied.is_empty()), "no squashed file ran");
    let mut client = db.connect();
    assert_eq!(history_labels(&mut client), set_labels(&squashed));
    assert_eq!(row_hashes(&mut client), rows_before);
}
