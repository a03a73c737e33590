//! The Postgres-majors tier for squash and follow: a chain squashed on Postgres 14 and 18, the
//! databases of its old chain following on each, and databases that cross an upgrade (migrated on
//! the test server's major, dumped with 18's pg_dump and restored into 18) passing `sdm check`,
//! following a squash recorded on the old major and taking new migrations; and the reverse, a
//! squash recorded on 18 followed by a database on the test server.
//!
//! Ignored unless asked for: they need `python3 tools/pg-binaries.py 14 18` (binaries under
//! `target/pg/`); `cargo xtask verify` runs them when those are installed (`--ignored`).

use devdb::{major_server, Server, TestDatabase};
use migrator::migrate;
use migrator::migrations::MigrationSet;
use xshell::{cmd, Shell};

use super::existing::{copy_of, history_labels, row_hashes, set_labels};
use super::{server, Tree};

/// Writes the small chain with its lock file, the schema recorded on `server` (as `cargo xtask
/// lock` does there); returns the tree and the chain as a set.
fn locked_small_chain(server: &Server) -> (Tree, MigrationSet) {
    let tree = copy_of(&crate::project_root().join("test_data/chains/small/migrations"));
    let set = MigrationSet::from_dir(&tree.dir()).unwrap();
    crate::lock::write(&tree.dir(), &set, crate::lock::fresh_schema(server, &set).unwrap(), None).unwrap();
    let set = MigrationSet::from_dir(&tree.dir()).unwrap();
    (tree, set)
}

/// Returns a database on `server` migrated with `set`.
fn migrated<'s>(server: &'s Server, set: &MigrationSet) -> TestDatabase<'s> {
    let db = server.scratch_database("majors").unwrap();
    migrate::migrate(&mut db.connect(), set).unwrap_or_else(|e| panic!("{e}"));
    db
}

/// Asserts the old chain's database `db` follows `squashed`, keeps its rows, passes `sdm check`
/// against the squashed set's lock file, and takes a migration written after the squash.
fn assert_follows(db: &TestDatabase<'_>, tree: &Tree, squashed: &MigrationSet, what: &str) {
    let mut client = db.connect();
    let rows = row_hashes(&mut client);
    let run = migrate::run(&mut client, squashed).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(run.followed.len(), 1, "{what}: {run:?}");
    assert!(run.applied.is_empty(), "{what}: no squashed file ran: {:?}", run.applied);
    assert_eq!(history_labels(&mut client), set_labels(squashed), "{what}");
    assert_eq!(row_hashes(&mut client), rows, "{what}: every row stays");
    assert_eq!(migrate::drift(&mut client, squashed).unwrap().differences, [], "{what}: sdm check");

    let next = squashed.files.last().unwrap().version + 1;
    let later = format!("users/V{next}__users_nickname.sql");
    tree.write(&later, "ALTER TABLE users_account ADD COLUMN nickname text;\n");
    let later_set = MigrationSet::from_dir(&tree.dir()).unwrap();
    let run = migrate::run(&mut client, &later_set).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(run.applied.iter().map(|m| m.version).collect::<Vec<_>>(), [next], "{what}");
    std::fs::remove_file(tree.dir().join(later)).unwrap();
}

#[test]
#[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
fn a_chain_squashes_on_14_and_18_and_its_databases_follow_there() {
    let (reference, _) = locked_small_chain(server());
    reference.squash();
    for major in [14, 18] {
        let on = major_server(major);
        let (tree, chain) = locked_small_chain(on);
        let old = migrated(on, &chain);
        assert_eq!(migrate::drift(&mut old.connect(), &chain).unwrap().differences, [], "Postgres {major}: sdm check");
        let report = tree.squash_on(on);
        assert!(matches!(report.outcome, ::squash::Outcome::Written), "Postgres {major}: {}", report.summary());
        // The same files as a squash on the test server's major, records and lock file aside
        // (they hold the catalog as that major prints it).
        let migrations = |t: &Tree| t.snapshot().into_iter().filter(|(p, _)| p.extension().is_some_and(|e| e == "sql"));
        assert!(migrations(&tree).eq(migrations(&reference)), "Postgres {major} squashes like the test server");
        let squashed = MigrationSet::from_dir(&tree.dir()).unwrap();
        assert_follows(&old, &tree, &squashed, &format!("Postgres {major}"));
    }
}

/// Dumps database `db` with the client tools of `to` and restores it into a new database there,
/// as an upgrade by dump and restore does.
fn dump_and_restore<'s>(db: &TestDatabase<'_>, to: &'s Server) -> TestDatabase<'s> {
    let sh = Shell::new().unwrap();
    let (pg_dump, pg_restore) = (to.bin("pg_dump").unwrap(), to.bin("pg_restore").unwrap());
    let archive = tempfile_path("upgrade.dump");
    let (from_url, restored) = (db.url(), to.scratch_database("majors_upgraded").unwrap());
    let to_url = restored.url();
    cmd!(sh, "{pg_dump} -Fc --no-owner -f {archive} -d {from_url}").secret().quiet().run().unwrap();
    cmd!(sh, "{pg_restore} --no-owner --exit-on-error -d {to_url} {archive}").secret().quiet().run().unwrap();
    std::fs::remove_file(&archive).unwrap();
    restored
}

fn tempfile_path(name: &str) -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("sdm-majors-{}-{n}-{name}", std::process::id()))
}

#[test]
#[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
fn a_database_crosses_an_upgrade_to_18_and_follows_a_squash_recorded_before_it() {
    let (old_major, eighteen) = (server().major().unwrap(), major_server(18));
    let (tree, chain) = locked_small_chain(server());
    let old = migrated(server(), &chain);
    old.connect().batch_execute("INSERT INTO users_account (email, name) VALUES ('bo@example.org', 'Bo')").unwrap();
    tree.squash();
    let squashed = MigrationSet::from_dir(&tree.dir()).unwrap();

    let upgraded = dump_and_restore(&old, eighteen);
    let mut client = upgraded.connect();
    assert_eq!(row_hashes(&mut client), row_hashes(&mut old.connect()), "the upgrade keeps every row");
    let what = format!("a database from {old_major} restored into 18");
    assert_eq!(migrate::drift(&mut client, &chain).unwrap().differences, [], "{what}: sdm check on the old chain");
    assert_follows(&upgraded, &tree, &squashed, &what);
}

#[test]
#[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
fn a_database_on_the_older_major_follows_a_squash_recorded_on_18() {
    let (tree, chain) = locked_small_chain(major_server(18));
    let old = migrated(server(), &chain);
    let what = format!("a database on {} following a squash made on 18", server().major().unwrap());
    assert_eq!(migrate::drift(&mut old.connect(), &chain).unwrap().differences, [], "{what}: sdm check");
    tree.squash_on(major_server(18));
    let squashed = MigrationSet::from_dir(&tree.dir()).unwrap();
    assert_follows(&old, &tree, &squashed, &what);
}
