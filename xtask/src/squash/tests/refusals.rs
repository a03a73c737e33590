//! Databases that must not follow the squash are refused with what differs and what to do, and
//! their history is left byte-identical: one that stopped part-way through the replaced chain,
//! one whose schema drifted, one that applied another version of a replaced migration.

use devdb::TestDatabase;
use migrator::migrate::{self, Refusal};
use migrator::migrations::MigrationSet;
use migrator::Error;

use super::existing::{database_with_rows, first, history_rows, row_hashes, sdm_chain, squashed_once};

/// Runs the squashed set on `db`, expects a refusal of kind `refusal`, checks nothing changed
/// and that showmigrations flags the same problem; returns the message as `sdm` prints it.
fn refused(db: &TestDatabase<'_>, refusal: Refusal) -> String {
    let squashed = MigrationSet::from_dir(&squashed_once().join("migrations")).unwrap();
    let mut client = db.connect();
    let (history, rows) = (history_rows(&mut client), row_hashes(&mut client));
    let error = match migrate::run(&mut client, &squashed) {
        Ok(run) => panic!("expected a refusal, got {run:?}"),
        Err(e) => e,
    };
    let Error::SquashNotFollowed { squash: 1, refusal: got, .. } = &error else { panic!("{error:#}") };
    assert_eq!(*got, refusal, "{error}");
    assert_eq!(history_rows(&mut client), history, "a refusal leaves the history byte-identical");
    assert_eq!(row_hashes(&mut client), rows);
    let shown = format!("{:#}", anyhow::Error::from(error));
    let listed = migrate::check_history(&mut client, &squashed).unwrap_err();
    assert_eq!(format!("{:#}", anyhow::Error::from(listed)), shown, "showmigrations flags what migrate refuses");
    assert!(shown.starts_with("this database cannot follow squash 1 ("), "{shown}");
    assert!(shown.contains("squashes/0001.json), so nothing was changed: "), "{shown}");
    shown
}

#[test]
fn a_database_part_way_through_the_replaced_chain_is_refused_with_two_ways_forward() {
    let chain = sdm_chain();
    let db = super::server().test_database(Some(&first(&chain, 15))).unwrap();
    app::users::create(&mut db.connect(), "ann@example.com", "Ann").unwrap();
    let shown = refused(&db, Refusal::PartWay);
    let (last, lacking) = (chain.files[14].label(), chain.files[15].label());
    assert!(
        shown.contains(&format!(
            "it stopped part-way through the 23 migrations the squash replaced: it applied 15 of them, the last {last} on "
        )),
        "{shown}"
    );
    assert!(shown.contains(&format!("and lacks {lacking}, {},", chain.files[16].label())), "{shown}");
    assert!(shown.contains("and 0 more") || shown.contains(&chain.files[22].label()), "{shown}");
    assert!(
        shown.contains("Two ways forward:\n  1. finish the old chain with the build from before the squash"),
        "{shown}"
    );
    assert!(shown.contains("2. or, if nothing in this database needs keeping, drop it and migrate it from scratch"));

    let squashed = MigrationSet::from_dir(&squashed_once().join("migrations")).unwrap();
    let listing = migrate::show_migrations(&migrate::status(&mut db.connect(), &squashed).unwrap());
    assert!(listing.contains(&format!("users\n [ ] {}\n", squashed.files[0].label())), "{listing}");
    assert!(listing.contains("replaced by squash 1 (15 of its 23 migrations applied here):\n"), "{listing}");
    assert!(listing.contains(&format!(" [X] {last}\n [ ] {lacking}\n")), "{listing}");
}

#[test]
fn a_database_whose_schema_drifted_is_refused_naming_each_object() {
    let db = database_with_rows(&sdm_chain());
    db.connect()
        .batch_execute(
            "CREATE INDEX users_account_created_idx ON users_account (created_at);
             ALTER TABLE journeys_journey ADD COLUMN notes text;
             ALTER TABLE llmchat_conversation ALTER COLUMN title SET DEFAULT 'untitled';
             ALTER TABLE evidence_document DROP CONSTRAINT evidence_document_kind_check;",
        )
        .unwrap();
    let shown = refused(&db, Refusal::SchemaDiffers);
    assert!(
        shown.contains(
            "it applied exactly the 23 migrations, but its schema is not the one they build (5 object(s) differ"
        ),
        "{shown}"
    );
    for line in [
        "  column public.journeys_journey.notes: not expected (found `text`)",
        "  column public.llmchat_conversation.title: expected `text NOT NULL DEFAULT ''::text`, found `text NOT NULL DEFAULT 'untitled'::text`",
        "  constraint public.evidence_document.evidence_document_kind_check: missing (expected `CHECK ((kind = ANY (ARRAY['upload'::text, 'citation'::text, 'link'::text])))`)",
        "  index public.users_account_created_idx: not expected (found `CREATE INDEX users_account_created_idx ON public.users_account USING btree (created_at)`)",
    ] {
        assert!(shown.contains(line), "expected {line:?} in:\n{shown}");
    }
    assert!(shown.contains("Undo what was changed by hand"), "{shown}");
}

#[test]
fn a_database_that_applied_another_version_of_a_replaced_migration_is_refused() {
    let chain = sdm_chain();
    let loader = chain.files.iter().find(|f| f.name == app::fixtures::MIGRATION_NAME).unwrap();
    let (label, version) = (loader.label(), loader.version);
    let db = database_with_rows(&chain);
    let mut client = db.connect();
    client
        .execute(&format!("UPDATE {} SET checksum = '1' WHERE version = {version}", migrate::HISTORY_TABLE), &[])
        .unwrap();
    let shown = refused(&db, Refusal::ChecksumMismatch);
    assert!(
        shown.contains(&format!(
            "it applied another version of a migration than the chain the squash replaced:\n  {label}: the database recorded checksum 1 on "
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("the squash replaced {label} ({}) with checksum ", loader.relative_path())),
        "{shown}"
    );
    let squashed = MigrationSet::from_dir(&squashed_once().join("migrations")).unwrap();
    let listing = migrate::show_migrations(&migrate::status(&mut client, &squashed).unwrap());
    assert!(listing.contains(&format!(" [!] {label}  (the database applied another version of it)\n")), "{listing}");
}
