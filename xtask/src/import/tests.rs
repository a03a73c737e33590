//! Each tool's layout end to end on a real Postgres: a small chain of the same shape written for
//! the tool, imported, squashed and proven; a database migrated as the tool would (its SQL run
//! as the tool runs it, its history rows written as the tool writes them) adopted by the runner
//! with the tool's rows kept; and the adoption's refusals.

use migrator::migrations::MigrationSet;
use postgres::Client;
use squash::testing::Tree;

use import::Tool;

/// The shared chain: a table made in a BEGIN/COMMIT block, an index made concurrently, then a
/// row. Returns (file path, what the tool writes, the SQL it runs) per migration.
fn chain(tool: Tool) -> Vec<(String, String, &'static str)> {
    let steps: [(&str, &str); 3] = [
        ("users_table", "BEGIN;\nCREATE TABLE users_a (id int PRIMARY KEY, kind varchar(10));\nCOMMIT;\n"),
        ("kind_index", "CREATE INDEX CONCURRENTLY users_a_kind ON users_a (kind);\n"),
        ("first_user", "INSERT INTO users_a VALUES (1, 'x');\n"),
    ];
    steps
        .iter()
        .enumerate()
        .map(|(i, (name, sql))| {
            let n = i + 1;
            let (path, text) = match tool {
                Tool::Sqlx => (format!("2024010100000{n}_{name}.sql"), sql.to_string()),
                Tool::Diesel => (format!("2024-01-01-00000{n}_{name}/up.sql"), sql.to_string()),
                Tool::GolangMigrate => (format!("{n}_{name}.up.sql"), sql.to_string()),
                Tool::Goose => {
                    (format!("0000{n}_{name}.sql"), format!("-- +goose Up\n{sql}-- +goose Down\nSELECT 1;\n"))
                }
                Tool::Dbmate => {
                    (format!("2024010100000{n}_{name}.sql"), format!("-- migrate:up\n{sql}\n-- migrate:down\n"))
                }
                Tool::Flyway => (format!("V{n}__{name}.sql"), sql.to_string()),
                Tool::Prisma => (format!("2024010100000{n}_{name}/migration.sql"), sql.to_string()),
            };
            (path, text, *sql)
        })
        .collect()
}

/// Writes `tool`'s chain next to a tree and imports it into the tree's migrations folder.
fn imported(tool: Tool) -> (Tree, MigrationSet) {
    let tree = Tree::new(&[]);
    let source = tree.root.join("source");
    for (path, text, _) in chain(tool) {
        let path = source.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let options = import::Options { from: None, modules: Vec::new(), into: tree.dir(), force: false };
    let report = import::import(&source, &options).unwrap_or_else(|e| panic!("{}: {e:#}", tool.name()));
    assert_eq!(report.tool, tool, "the layout is detected");
    let set = MigrationSet::from_dir(&tree.dir()).unwrap();
    (tree, set)
}

/// Runs the first two migrations as the tool would, and writes its history rows for them.
fn migrate_as(tool: Tool, client: &mut Client, set: &MigrationSet) {
    for (_, _, sql) in chain(tool).iter().take(2) {
        client.batch_execute(sql).unwrap();
    }
    let record = set.import.as_ref().unwrap();
    let m: Vec<_> = record.migrations.iter().take(2).collect();
    let v = |i: usize| m[i].tool_version.clone();
    let c = |i: usize| m[i].tool_checksum.clone().unwrap_or_default();
    let sql =
        match tool {
            Tool::Sqlx => {
                format!(
            "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL, installed_on \
             timestamptz NOT NULL DEFAULT now(), success boolean NOT NULL, checksum bytea NOT NULL, execution_time \
             bigint NOT NULL); INSERT INTO _sqlx_migrations VALUES ({}, 'a', now(), true, decode('{}', 'hex'), 1), \
             ({}, 'b', now(), true, decode('{}', 'hex'), 1);",
            v(0), c(0), v(1), c(1)
        )
            }
            Tool::Diesel => format!(
                "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on timestamp NOT NULL \
             DEFAULT CURRENT_TIMESTAMP); INSERT INTO __diesel_schema_migrations (version) VALUES ('{}'), ('{}');",
                v(0),
                v(1)
            ),
            Tool::GolangMigrate => format!(
                "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); \
             INSERT INTO schema_migrations VALUES ({}, false);",
                v(1)
            ),
            Tool::Goose => format!(
            "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT \
             NULL, tstamp timestamp DEFAULT now()); INSERT INTO goose_db_version (version_id, is_applied) VALUES \
             (0, true), ({}, true), ({}, true);",
            v(0), v(1)
        ),
            Tool::Dbmate => format!(
                "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); \
             INSERT INTO schema_migrations VALUES ('{}'), ('{}');",
                v(0),
                v(1)
            ),
            Tool::Flyway => {
                format!(
            "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description \
             varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, \
             installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(), execution_time int \
             NOT NULL, success boolean NOT NULL); INSERT INTO flyway_schema_history VALUES \
             (1, '{}', 'a', 'SQL', 'V1__a.sql', {}, 'u', now(), 1, true), \
             (2, '{}', 'b', 'SQL', 'V2__b.sql', {}, 'u', now(), 1, true);",
            v(0), c(0), v(1), c(1)
        )
            }
            Tool::Prisma => format!(
            "CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at \
             timestamptz, migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz, started_at \
             timestamptz NOT NULL DEFAULT now(), applied_steps_count int NOT NULL DEFAULT 0); \
             INSERT INTO _prisma_migrations VALUES ('1', '{}', now(), '{}', NULL, NULL, now() - interval '1 s', 1), \
             ('2', '{}', now(), '{}', NULL, NULL, now(), 1);",
            c(0), v(0), c(1), v(1)
        ),
        };
    client.batch_execute(&sql).unwrap();
}

/// Runs the third migration as the tool would, and writes its history row.
fn finish_as(tool: Tool, client: &mut Client, set: &MigrationSet) {
    client.batch_execute(chain(tool)[2].2).unwrap();
    let m = &set.import.as_ref().unwrap().migrations[2];
    let (v, c) = (&m.tool_version, m.tool_checksum.clone().unwrap_or_default());
    let sql = match tool {
        Tool::Sqlx => format!("INSERT INTO _sqlx_migrations VALUES ({v}, 'c', now(), true, decode('{c}', 'hex'), 1)"),
        Tool::Diesel => format!("INSERT INTO __diesel_schema_migrations (version) VALUES ('{v}')"),
        Tool::GolangMigrate => format!("UPDATE schema_migrations SET version = {v}"),
        Tool::Goose => format!("INSERT INTO goose_db_version (version_id, is_applied) VALUES ({v}, true)"),
        Tool::Dbmate => format!("INSERT INTO schema_migrations VALUES ('{v}')"),
        Tool::Flyway => {
            format!("INSERT INTO flyway_schema_history VALUES (3, '{v}', 'c', 'SQL', 'V3__c.sql', {c}, 'u', now(), 1, true)")
        }
        Tool::Prisma => {
            format!("INSERT INTO _prisma_migrations VALUES ('3', '{c}', now(), '{v}', NULL, NULL, now() + interval '1 s', 1)")
        }
    };
    client.batch_execute(&sql).unwrap();
}

fn tool_rows(client: &mut Client, table: &str) -> i64 {
    client.query_one(&format!("SELECT count(*) FROM {table}"), &[]).unwrap().get(0)
}

/// Imports, adopts a database the tool migrated, then squashes and proves the imported chain.
fn import_adopt_squash(tool: Tool) {
    let (tree, set) = imported(tool);
    let names: Vec<&str> = set.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["users_table", "kind_index", "first_user"], "{}", tool.name());
    assert!(!set.files[0].sql.contains("BEGIN;"), "the block is removed: {}", set.files[0].sql);

    let db = devdb::empty_database();
    let mut client = db.connect();
    migrate_as(tool, &mut client, &set);
    let table = tool.history_table();
    let before = tool_rows(&mut client, table);
    let run = migrator::migrate::run(&mut client, &set).unwrap_or_else(|e| panic!("{}: {e}", tool.name()));
    let lines = run.describe("db");
    assert_eq!(lines[0], format!("Adopted 2 migrations from {}'s {table}", tool.name()), "{lines:?}");
    assert_eq!(run.applied.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["first_user"]);
    assert_eq!(tool_rows(&mut client, table), before, "the tool's rows are kept");
    let again = migrator::migrate::run(&mut client, &set).unwrap();
    assert!(again.adopted.is_none() && again.applied.is_empty(), "adopted once: {:?}", again.describe("db"));

    tree.squash();
    let squashed = MigrationSet::from_dir(&tree.dir()).unwrap();
    assert!(squashed.import.is_some(), "the import record stays with the squashed set");
    assert_eq!(squashed.squashes.len(), 1, "the imported chain was squashed and proven");

    // A database the tool migrated part-way, met only after the squash, cannot follow it: refused,
    // changing nothing. Once the tool has run the rest, it is adopted and follows the squash.
    let late = devdb::empty_database();
    let mut client = late.connect();
    migrate_as(tool, &mut client, &set);
    let error = migrator::migrate::run(&mut client, &squashed).expect_err("part-way through a squash").to_string();
    assert!(error.contains("applied 2 of the 3 migrations squash 1 replaced"), "{error}");
    let ours: bool = client.query_one("SELECT to_regclass('refinery_schema_history') IS NOT NULL", &[]).unwrap().get(0);
    assert!(!ours, "the refusal wrote no history");
    finish_as(tool, &mut client, &set);
    let run = migrator::migrate::run(&mut client, &squashed).unwrap_or_else(|e| panic!("{}: {e}", tool.name()));
    let lines = run.describe("db");
    assert_eq!(lines[0], format!("Adopted 3 migrations from {}'s {table}", tool.name()), "{lines:?}");
    assert_eq!(run.followed.len(), 1, "{lines:?}");
}

#[test]
fn sqlx_chain_imports_adopts_and_squashes() {
    import_adopt_squash(Tool::Sqlx);
}

#[test]
fn diesel_chain_imports_adopts_and_squashes() {
    import_adopt_squash(Tool::Diesel);
}

#[test]
fn golang_migrate_chain_imports_adopts_and_squashes() {
    import_adopt_squash(Tool::GolangMigrate);
}

#[test]
fn goose_chain_imports_adopts_and_squashes() {
    import_adopt_squash(Tool::Goose);
}

#[test]
fn dbmate_chain_imports_adopts_and_squashes() {
    import_adopt_squash(Tool::Dbmate);
}

#[test]
fn flyway_chain_imports_adopts_and_squashes() {
    import_adopt_squash(Tool::Flyway);
}

#[test]
fn prisma_chain_imports_adopts_and_squashes() {
    import_adopt_squash(Tool::Prisma);
}

/// Migrates as `tool` would, spoils its history with `spoil`, and returns the runner's refusal
/// after checking that nothing changed.
fn refusal(tool: Tool, spoil: &str) -> String {
    let (_tree, set) = imported(tool);
    let db = devdb::empty_database();
    let mut client = db.connect();
    migrate_as(tool, &mut client, &set);
    client.batch_execute(spoil).unwrap();
    let error = migrator::migrate::run(&mut client, &set).expect_err("the adoption is refused").to_string();
    let ours: bool = client.query_one("SELECT to_regclass('refinery_schema_history') IS NOT NULL", &[]).unwrap().get(0);
    assert!(!ours, "a refusal writes no history: {error}");
    error
}

#[test]
fn adoption_refuses_by_name_and_changes_nothing() {
    let dirty = refusal(Tool::GolangMigrate, "UPDATE schema_migrations SET dirty = true");
    assert!(dirty.contains("golang-migrate's migration 2 is dirty"), "{dirty}");
    let failed = refusal(Tool::Sqlx, "UPDATE _sqlx_migrations SET success = false WHERE version = 20240101000002");
    assert!(failed.contains("sqlx's migration 20240101000002 is recorded as failed"), "{failed}");
    let checksum = refusal(Tool::Flyway, "UPDATE flyway_schema_history SET checksum = 7 WHERE version = '1'");
    assert!(checksum.contains("flyway's migration 1 has checksum 7 in flyway_schema_history"), "{checksum}");
    let unknown = refusal(Tool::Dbmate, "INSERT INTO schema_migrations VALUES ('20990101000000')");
    assert!(
        unknown.contains("dbmate's migration 20990101000000 is applied but") && unknown.contains("does not know it"),
        "{unknown}"
    );
    let gap = refusal(Tool::Dbmate, "DELETE FROM schema_migrations WHERE version = '20240101000001'");
    assert!(
        gap.contains("dbmate's migration 20240101000001 is not applied although the later 20240101000002 is"),
        "{gap}"
    );
    let columns = refusal(Tool::Goose, "ALTER TABLE goose_db_version RENAME is_applied TO applied");
    assert!(columns.contains("goose_db_version has no column(s) is_applied"), "{columns}");
}

/// Flyway's marker rows mean what Flyway means by them: the schema-creation row ran nothing, and a
/// baseline at the second version stands for the first two migrations, which Flyway never ran
/// on that database.
#[test]
fn flyway_baseline_and_schema_rows_are_read_as_flyway_means_them() {
    let (_tree, set) = imported(Tool::Flyway);
    let db = devdb::empty_database();
    let mut client = db.connect();
    migrate_as(Tool::Flyway, &mut client, &set);
    client
        .batch_execute(
            "DELETE FROM flyway_schema_history WHERE installed_rank = 1; UPDATE flyway_schema_history SET type = \
             'BASELINE', description = '<< Flyway Baseline >>', script = '<< Flyway Baseline >>', checksum = NULL \
             WHERE installed_rank = 2; INSERT INTO flyway_schema_history VALUES (0, '0', \
             '<< Flyway Schema Creation >>', 'SCHEMA', '\"public\"', NULL, 'u', now(), 0, true);",
        )
        .unwrap();
    let run = migrator::migrate::run(&mut client, &set).unwrap_or_else(|e| panic!("{e:#}"));
    let adopted = run.adopted.as_ref().expect("the database is adopted");
    assert_eq!(adopted.migrations, 2, "the two migrations the baseline stands for: {run:?}");
    assert_eq!(run.applied.len(), set.files.len() - 2, "{run:?}");
}
