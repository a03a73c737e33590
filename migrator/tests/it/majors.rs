//! The Postgres-majors tier: the runner, `sdm check` (its library, `migrate::drift`) and the
//! snapshot behind the lock file on Postgres 14 and 18, against the test server's major (15 on
//! these machines). A record written on one major holds on the others; a real difference shows.
//!
//! Ignored unless asked for: they need the binaries `python3 tools/pg-binaries.py 14 18` installs
//! under `target/pg/`; `cargo xtask verify` runs them when those are there (`--ignored`).

use std::path::Path;

use devdb::{major_server, test_server, Server};
use migrator::migrate;
use migrator::migrations::{MigrationLock, MigrationSet};
use migrator::schema::Snapshot;

use crate::support::TempDir;

/// The majors compared with the test server's.
const OTHER_MAJORS: [u32; 2] = [14, 18];

/// Migrates a new database on `server` with `set`; returns it and its snapshot.
fn migrated<'s>(server: &'s Server, set: &MigrationSet) -> (devdb::TestDatabase<'s>, Snapshot) {
    let db = server.scratch_database("majors").unwrap();
    let mut client = db.connect();
    migrate::migrate(&mut client, set).unwrap_or_else(|e| panic!("Postgres {}: {e}", server.major().unwrap()));
    let snapshot = Snapshot::read(&mut client).unwrap();
    (db, snapshot)
}

/// The chain with one object of every kind the snapshot reads, which the tests own.
fn every_kind_of_object() -> MigrationSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test_data/chains/majors");
    MigrationSet::from_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
#[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
fn the_same_migrations_give_the_same_snapshot_on_every_major_and_a_real_difference_still_shows() {
    let set = every_kind_of_object();
    let (_, expected) = migrated(test_server(), &set);
    assert!(expected.objects.len() > 60, "every kind of object: {}", expected.objects.len());
    for major in OTHER_MAJORS {
        let server = major_server(major);
        assert_eq!(server.major().unwrap(), major);
        let (db, found) = migrated(server, &set);
        let differences = expected.diff(&found);
        assert!(
            differences.is_empty(),
            "Postgres {major}: {}",
            migrator::schema::list_differences(&differences, "  ", 20)
        );
        assert_eq!(found.diff(&expected), [], "Postgres {major}, the other way round");

        // Nullability is still compared, whichever catalog holds it.
        let mut client = db.connect();
        client
            .batch_execute("ALTER TABLE account ALTER COLUMN handle DROP NOT NULL; ALTER TABLE note ALTER COLUMN during SET NOT NULL")
            .unwrap();
        let shown: Vec<String> =
            expected.diff(&Snapshot::read(&mut client).unwrap()).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "column public.account.handle: expected `text NOT NULL COMMENT 'the public name'`, found `text COMMENT 'the public name'`",
                "column public.note.during: expected `tstzrange`, found `tstzrange NOT NULL`",
            ],
            "Postgres {major}"
        );
        // And so is a view's query.
        client
            .batch_execute("CREATE OR REPLACE VIEW active_account AS SELECT id, handle FROM account WHERE mood <> 'ok'")
            .unwrap();
        let differences = expected.diff(&Snapshot::read(&mut client).unwrap());
        assert!(
            differences.iter().any(|d| d.object() == "view public.active_account"),
            "Postgres {major}: {differences:?}"
        );
    }
}

/// Writes a two-migration chain and its lock file, the schema recorded from a database on `server`.
fn locked_chain(server: &Server) -> TempDir {
    let dir = TempDir::new();
    dir.write(
        "users/V1__users_table.sql",
        "CREATE TABLE users_account (id bigint PRIMARY KEY, email text NOT NULL);\n",
    );
    dir.write(
        "users/V2__users_name.sql",
        "ALTER TABLE users_account ADD COLUMN name text NOT NULL DEFAULT '';\nCREATE VIEW users_named AS SELECT id, name FROM users_account;\n",
    );
    let set = dir.set();
    let (_, schema) = migrated(server, &set);
    let path = dir.path().join("migrations.lock.json");
    std::fs::write(&path, MigrationLock::new(&set, schema, path.clone()).to_text()).unwrap();
    dir
}

#[test]
#[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
fn a_lock_file_written_on_one_major_is_honoured_by_sdm_check_on_every_other() {
    let mut writers: Vec<&Server> = vec![test_server()];
    writers.extend(OTHER_MAJORS.map(major_server));
    for writer in &writers {
        let chain = locked_chain(writer);
        let set = chain.set();
        for server in &writers {
            let (writer_major, major) = (writer.major().unwrap(), server.major().unwrap());
            let db = server.scratch_database("majors_check").unwrap();
            let mut client = db.connect();
            let run = migrate::run(&mut client, &set).unwrap_or_else(|e| panic!("Postgres {major}: {e}"));
            assert_eq!(run.applied.len(), 2, "Postgres {major}");
            assert!(migrate::run(&mut client, &set).unwrap().applied.is_empty(), "Postgres {major}: a second run");
            let drift = migrate::drift(&mut client, &set).unwrap();
            assert_eq!(drift.differences, [], "lock written on {writer_major}, checked on {major}");

            // A change made by hand is reported, on every major.
            client.batch_execute("ALTER TABLE users_account ALTER COLUMN email DROP NOT NULL").unwrap();
            let drift = migrate::drift(&mut client, &set).unwrap();
            let shown: Vec<String> = drift.differences.iter().map(ToString::to_string).collect();
            assert_eq!(
                shown,
                ["column public.users_account.email: expected `text NOT NULL`, found `text`"],
                "lock written on {writer_major}, checked on {major}"
            );
        }
    }
}
