//! The files next to the migrations: squash records and the lock file are read with the set,
//! refused with the file named when broken, and a hand-made record is followed like a squash's.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use devdb::empty_database;
use migrator::migrate::{self, Refusal};
use migrator::migrations::{MigrationSet, RecordedMigration, SquashRecord};
use migrator::schema::Snapshot;
use migrator::Error;

/// A migrations folder under the system temp dir, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Folder {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("sdm-records-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Folder(path)
    }

    fn write(&self, rel: &str, text: &str) -> &Folder {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.0.join(rel)).unwrap();
    }

    fn set(&self) -> MigrationSet {
        MigrationSet::from_dir(&self.0).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(&self) -> String {
        match MigrationSet::from_dir(&self.0) {
            Ok(_) => panic!("{} should not load", self.0.display()),
            Err(e) => e.to_string(),
        }
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const OLD: [(&str, &str); 2] = [
    ("users/V1__users_accounts.sql", "CREATE TABLE users_account (id bigint PRIMARY KEY);\n"),
    ("users/V2__users_email.sql", "ALTER TABLE users_account ADD COLUMN email text;\n"),
];
const NEW: (&str, &str) =
    ("users/V1__users_accounts.sql", "CREATE TABLE users_account (id bigint PRIMARY KEY, email text);\n");

/// Writes the squashed folder with a record of squashing `OLD` (whose schema is `schema`).
fn squashed_folder(schema: Snapshot) -> Folder {
    let old = Folder::new();
    for (rel, sql) in OLD {
        old.write(rel, sql);
    }
    let folder = Folder::new();
    folder.write(NEW.0, NEW.1);
    let record = SquashRecord {
        squash: 1,
        old_chain_commit: Some("0123456789abcdef0123".into()),
        replaced: old.set().files.iter().map(RecordedMigration::of).collect(),
        squashed: folder.set().files.iter().map(RecordedMigration::of).collect(),
        schema,
        path: PathBuf::new(),
    };
    folder.write("squashes/0001.json", &record.to_text());
    folder
}

/// Returns the schema the old chain gives, and a database migrated with it.
fn old_database() -> (Snapshot, devdb::TestDatabase<'static>) {
    let old = Folder::new();
    for (rel, sql) in OLD {
        old.write(rel, sql);
    }
    let db = empty_database();
    let mut client = db.connect();
    migrate::migrate(&mut client, &old.set()).unwrap();
    client.batch_execute("INSERT INTO users_account VALUES (1, 'ann@example.com')").unwrap();
    (Snapshot::read(&mut client).unwrap(), db)
}

#[test]
fn a_hand_made_record_is_followed_and_an_edited_squashed_file_is_refused() {
    let (schema, db) = old_database();
    let folder = squashed_folder(schema);
    let set = folder.set();
    assert_eq!(set.squashes.len(), 1);
    assert!(set.added_since_last_squash().is_empty());
    assert_eq!(set.squashes[0].path, folder.0.join("squashes/0001.json"));

    // The squashed file edited after the squash: refused, nothing changed.
    folder.write(NEW.0, &format!("{}-- edited\n", NEW.1));
    let mut client = db.connect();
    let error = migrate::run(&mut client, &folder.set()).unwrap_err();
    assert!(matches!(error, Error::SquashNotFollowed { refusal: Refusal::RecordMismatch, .. }), "{error}");
    assert!(error.to_string().contains("a squashed migration was edited after the squash; restore it"), "{error}");

    folder.write(NEW.0, NEW.1);
    let run = migrate::run(&mut client, &folder.set()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.followed.len(), 1);
    assert_eq!(run.followed[0].squashed, ["V1__users_accounts"]);
    let email: String = client.query_one("SELECT email FROM users_account WHERE id = 1", &[]).unwrap().get(0);
    assert_eq!(email, "ann@example.com");

    // A migration after the squash applies, and is what the set says came after it.
    folder.write("users/V2__users_name.sql", "ALTER TABLE users_account ADD COLUMN name text;\n");
    let set = folder.set();
    assert_eq!(set.added_since_last_squash().iter().map(|f| f.label()).collect::<Vec<_>>(), ["V2__users_name"]);
    assert_eq!(migrate::run(&mut client, &set).unwrap().applied.len(), 1);
}

#[test]
fn an_edited_file_of_the_squashed_set_is_named_as_such_not_as_another_version_of_the_old_chain() {
    let (schema, _) = old_database();
    let folder = squashed_folder(schema);
    let db = empty_database();
    let mut client = db.connect();
    migrate::migrate(&mut client, &folder.set()).unwrap();
    // The squashed V1 keeps the name of the V1 it replaced; the database ran the squashed one.
    folder.write(NEW.0, &format!("{}-- edited\n", NEW.1));
    let error = migrate::run(&mut client, &folder.set()).unwrap_err();
    assert!(matches!(error, Error::MigrationChanged { .. }), "{error}");
    assert!(error.to_string().contains("migration V1__users_accounts was changed after it was applied"), "{error}");
}

#[test]
fn the_part_way_message_names_the_commit_of_the_old_chain() {
    let (schema, _) = old_database();
    let folder = squashed_folder(schema);
    let db = empty_database();
    let mut client = db.connect();
    let first = Folder::new();
    first.write(OLD[0].0, OLD[0].1);
    migrate::migrate(&mut client, &first.set()).unwrap();
    let error = migrate::run(&mut client, &folder.set()).unwrap_err().to_string();
    assert!(error.contains("it applied 1 of them, the last V1__users_accounts on "), "{error}");
    assert!(error.contains("and lacks V2__users_email, whose files the squash removed"), "{error}");
    assert!(error.contains("(commit 0123456789ab: `git checkout 0123456789ab`)"), "{error}");
}

#[test]
fn broken_records_are_refused_naming_the_file() {
    let folder = squashed_folder(Snapshot::default());
    let record = std::fs::read_to_string(folder.0.join("squashes/0001.json")).unwrap();

    folder.write(
        "squashes/0001.json",
        &record.replace("\"schema\": {}", "\"schema\": {\"table public.x\": \"columns a\"}"),
    );
    let error = folder.error();
    assert!(error.contains("squashes/0001.json: the recorded schema does not match its schema_hash"), "{error}");

    folder.write("squashes/0001.json", "{ not json");
    assert!(folder.error().contains("squashes/0001.json: line 1, column 3: "), "{}", folder.error());

    folder.remove("squashes/0001.json");
    folder.write("squashes/0002.json", &record.replace("\"squash\": 1", "\"squash\": 2"));
    assert!(folder.error().contains("squash 1's record is missing before it"), "{}", folder.error());

    folder.remove("squashes/0002.json");
    folder.write("squashes/notes.txt", "");
    assert!(folder.error().contains("`notes.txt` is not a squash record"), "{}", folder.error());
    folder.remove("squashes/notes.txt");
    folder.write("squashes/.gitkeep", "");
    folder.write("migrations.lock.json", "[]");
    let error = folder.error();
    assert!(
        error.contains("migrations.lock.json: line 1, column 2: invalid length 0, expected struct LockFile"),
        "{error}"
    );
    assert!(!error.contains(" at line "), "{error}");
}

#[test]
fn a_checkout_from_before_a_squash_the_database_followed_is_named_as_such() {
    let (schema, db) = old_database();
    let folder = squashed_folder(schema);
    let mut client = db.connect();
    assert_eq!(migrate::run(&mut client, &folder.set()).unwrap().followed.len(), 1);
    let old = Folder::new();
    for (rel, sql) in OLD {
        old.write(rel, sql);
    }
    let history = history_of(&mut client);
    for error in [
        migrate::check_history(&mut client, &old.set()).unwrap_err(),
        migrate::run(&mut client, &old.set()).unwrap_err(),
    ] {
        assert!(matches!(error, Error::CheckoutBehind { .. }), "{error}");
        let shown = error.to_string();
        let record = folder.0.join("squashes/0001.json");
        assert!(shown.starts_with(&format!("this database followed squash 1 ({}) on ", record.display())), "{shown}");
        assert!(
            shown.contains("which this checkout does not have: the checkout is from before that squash"),
            "{shown}"
        );
        assert!(shown
            .contains(&format!("Check out a commit that has the squash (the one that added {})", record.display())));
        assert!(shown.ends_with("(`cargo xtask reset`). Nothing was changed"), "{shown}");
    }
    assert_eq!(history_of(&mut client), history, "nothing was changed");
}

#[test]
fn a_checkout_behind_the_newest_migrations_of_the_database_is_named_as_such() {
    let dir = Folder::new();
    dir.write("users/V1__users_a.sql", "CREATE TABLE users_a (id int);\n")
        .write("users/V2__users_b.sql", "CREATE TABLE users_b (id int);\n")
        .write("users/V3__users_c.sql", "CREATE TABLE users_c (id int);\n");
    let db = empty_database();
    let mut client = db.connect();
    migrate::migrate(&mut client, &dir.set()).unwrap();
    dir.remove("users/V2__users_b.sql");
    // A hole in the middle is a missing file, not a checkout behind.
    let error = migrate::check_history(&mut client, &dir.set()).unwrap_err();
    assert!(matches!(error, Error::MigrationMissing { .. }), "{error}");
    dir.write("users/V2__users_b.sql", "CREATE TABLE users_b (id int);\n");
    dir.remove("users/V3__users_c.sql");
    let error = migrate::check_history(&mut client, &dir.set()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "this database applied V3__users_c, newer than every migration of this checkout (its newest is \
         V2__users_b): the checkout is behind the database. Update it (`git pull`, or check out the commit that \
         added them), then migrate again; or, for a development database, drop it and migrate it from scratch \
         (`cargo xtask reset`). Nothing was changed"
    );
}

/// Returns the history table's rows as stored.
fn history_of(client: &mut postgres::Client) -> Vec<(i32, String, String)> {
    let sql = format!("SELECT version, name, checksum FROM {} ORDER BY version", migrate::HISTORY_TABLE);
    client.query(&sql, &[]).unwrap().iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
}
