//! The import on small chains written into a temp folder, one per tool's layout.

use std::path::{Path, PathBuf};

use super::*;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let root = std::env::temp_dir().join(format!("sdm-import-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Dir(root)
    }

    fn write(&self, path: &str, text: &str) -> &Dir {
        let path = self.0.join("from").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn import(&self, from: Option<Tool>, modules: &[(&str, &str)]) -> Result<Report> {
        let options = Options {
            from,
            modules: modules.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect(),
            into: self.0.join("migrations"),
            force: false,
        };
        import(&self.0.join("from"), &options)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.0.join("migrations").join(rel)).unwrap()
    }

    fn set(&self) -> MigrationSet {
        MigrationSet::from_dir(&self.0.join("migrations")).unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn labels(set: &MigrationSet) -> Vec<String> {
    set.files.iter().map(|f| f.relative_path()).collect()
}

#[test]
fn each_layout_is_detected_and_imported_in_the_tools_order() {
    let cases: [(Tool, &[(&str, &str)]); 7] = [
        (Tool::Sqlx, &[("20200102000000_b.sql", "CREATE TABLE b ();"), ("20200101000000_a.sql", "CREATE TABLE a ();")]),
        (
            Tool::Diesel,
            &[
                ("2020-01-02-000000_b/up.sql", "CREATE TABLE b ();"),
                ("2020-01-02-000000_b/down.sql", "DROP TABLE b;"),
                ("2020-01-01-000000_a/up.sql", "CREATE TABLE a ();"),
            ],
        ),
        (
            Tool::GolangMigrate,
            &[
                ("2_b.up.sql", "CREATE TABLE b ();"),
                ("2_b.down.sql", "DROP TABLE b;"),
                ("10_c.up.sql", "SELECT 1;"),
                ("1_a.up.sql", "CREATE TABLE a ();"),
            ],
        ),
        (
            Tool::Goose,
            &[
                ("00002_b.sql", "-- +goose Up\nCREATE TABLE b ();\n-- +goose Down\nDROP TABLE b;\n"),
                ("00001_a.sql", "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a ();\n-- +goose StatementEnd\n"),
            ],
        ),
        (
            Tool::Dbmate,
            &[
                ("20200102_b.sql", "-- migrate:up\nCREATE TABLE b ();\n\n-- migrate:down\nDROP TABLE b;\n"),
                ("20200101_a.sql", "-- migrate:up\nCREATE TABLE a ();\n-- migrate:down\n"),
            ],
        ),
        (
            Tool::Flyway,
            &[
                ("V1_10__c.sql", "SELECT 1;"),
                ("V1_2__b.sql", "CREATE TABLE b ();"),
                ("V1__a.sql", "CREATE TABLE a ();"),
                ("R__view.sql", "SELECT 1;"),
            ],
        ),
        (
            Tool::Prisma,
            &[
                ("20200102000000_b/migration.sql", "CREATE TABLE b ();"),
                ("20200101000000_a/migration.sql", "CREATE TABLE a ();"),
                ("migration_lock.toml", "provider = \"postgresql\""),
            ],
        ),
    ];
    for (tool, files) in cases {
        let dir = Dir::new(tool.name());
        for (path, text) in files {
            dir.write(path, text);
        }
        let report = dir.import(None, &[]).unwrap_or_else(|e| panic!("{}: {e:#}", tool.name()));
        assert_eq!(report.tool, tool);
        let set = dir.set();
        let names: Vec<String> = set.files.iter().map(|f| f.name.clone()).collect();
        let expected: &[&str] =
            if matches!(tool, Tool::GolangMigrate | Tool::Flyway) { &["a", "b", "c"] } else { &["a", "b"] };
        assert_eq!(names, expected, "{}", tool.name());
        assert!(set.files.iter().all(|f| f.module.as_deref() == Some("main")));
        assert_eq!(set.files[0].sql.trim(), "CREATE TABLE a ();", "{}: only the up SQL", tool.name());
        let record = set.import.expect("the import record");
        assert_eq!((record.tool.as_str(), record.history_table.as_str()), (tool.name(), tool.history_table()));
        assert_eq!(record.migrations.len(), set.files.len());
        let ignored = report.ignored.len();
        let down = matches!(tool, Tool::Diesel | Tool::GolangMigrate | Tool::Goose | Tool::Dbmate | Tool::Flyway);
        assert_eq!(ignored > 0, down, "{}: {:?}", tool.name(), report.ignored);
    }
}

#[test]
fn prisma_folders_that_share_a_timestamp_run_in_name_order() {
    let dir = Dir::new("prisma-same-time");
    dir.write("20200102000000_b_second/migration.sql", "CREATE TABLE c ();")
        .write("20200102000000_a_first/migration.sql", "CREATE TABLE b ();")
        .write("20200101000000_z/migration.sql", "CREATE TABLE a ();");
    dir.import(Some(Tool::Prisma), &[]).unwrap();
    let names: Vec<String> = dir.set().files.iter().map(|f| f.name.clone()).collect();
    assert_eq!(names, ["z", "a_first", "b_second"]);
    let dir = Dir::new("sqlx-same-version");
    dir.write("20200102000000_a.sql", "SELECT 1;").write("20200102000000_b.sql", "SELECT 2;");
    let error = format!("{:#}", dir.import(Some(Tool::Sqlx), &[]).unwrap_err());
    assert!(error.contains("have the same version 20200102000000"), "{error}");
}

#[test]
fn transaction_blocks_go_when_the_file_fits_one_transaction() {
    let dir = Dir::new("blocks");
    dir.write("1_commit.up.sql", "BEGIN;\nCREATE TABLE a (x int);\nCOMMIT;\nBEGIN;\nALTER TABLE a ADD y int;\nEND;\n");
    dir.write("2_plain.up.sql", "CREATE TABLE b ();\n");
    dir.import(Some(Tool::GolangMigrate), &[]).unwrap();
    let sql = dir.read("main/V1__commit.sql");
    assert!(
        sql.starts_with("-- Imported from golang-migrate: 1_commit.up.sql.\n-- Its BEGIN/COMMIT blocks were removed"),
        "{sql}"
    );
    assert!(!sql.contains("BEGIN;") && !sql.contains("COMMIT;") && !sql.contains("END;"), "{sql}");
    assert!(sql.contains("CREATE TABLE a (x int);\nALTER TABLE a ADD y int;"), "{sql}");
    assert_eq!(dir.read("main/V2__plain.sql"), "CREATE TABLE b ();\n");
}

#[test]
fn statements_outside_a_transaction_and_the_tools_markers_make_no_transaction_files() {
    let dir = Dir::new("outside");
    dir.write("00001_a.sql", "-- +goose Up\nCREATE TABLE a (x int);\n");
    dir.write("00002_index.sql", "-- +goose Up\nCREATE INDEX CONCURRENTLY a_x ON a (x);\n");
    dir.write("00003_marked.sql", "-- +goose NO TRANSACTION\n-- +goose Up\nSELECT 1;\n");
    dir.write("00004_mixed.sql", "-- +goose Up\nBEGIN;\nCREATE TABLE c ();\nCOMMIT;\nVACUUM a;\n");
    dir.write(
        "00005_enum.sql",
        "-- +goose Up\nCREATE TYPE e AS ENUM ('x');\nALTER TYPE e ADD VALUE 'y';\nCREATE TABLE d (v e DEFAULT 'y');\n",
    );
    dir.write("00006_detach.sql", "-- +goose Up\nALTER TABLE public.p DETACH PARTITION public.p_2024 CONCURRENTLY;\n");
    dir.import(None, &[]).unwrap();
    let set = dir.set();
    assert_eq!(
        labels(&set),
        [
            "main/V1__a.sql",
            "main/V2__index.sql",
            "main/V3__marked.sql",
            "main/V4__mixed_part1.sql",
            "main/V5__mixed_part2.sql",
            "main/V6__enum.sql",
            "main/V7__detach.sql"
        ]
    );
    use migrator::migrations::TransactionMode::*;
    let modes: Vec<_> = set.files.iter().map(MigrationFile::transaction_mode).collect();
    assert_eq!(
        modes,
        [OneTransaction, NoTransaction, NoTransaction, OneTransaction, NoTransaction, NoTransaction, NoTransaction]
    );
    assert!(set.files[6].sql.contains("DETACH PARTITION ... CONCURRENTLY"), "{}", set.files[6].sql);
    assert!(set.files[1].sql.contains("line 2: CREATE/DROP INDEX CONCURRENTLY"), "{}", set.files[1].sql);
    assert!(set.files[2].sql.contains("goose ran it outside a transaction"), "{}", set.files[2].sql);
    assert!(set.files[5].sql.contains("ALTER TYPE ... ADD VALUE"), "{}", set.files[5].sql);
    let record = set.import.unwrap();
    let versions: Vec<&str> = record.migrations.iter().map(|m| m.tool_version.as_str()).collect();
    assert_eq!(versions, ["1", "2", "3", "4", "4", "5", "6"], "both parts map to the tool's migration 4");
}

#[test]
fn modules_come_from_table_prefixes_or_file_patterns() {
    let dir = Dir::new("modules");
    dir.write("1_users.up.sql", "CREATE TABLE users_accounts ();");
    dir.write("2_points.up.sql", "CREATE TABLE IF NOT EXISTS points_ledger ();");
    dir.write("3_misc.up.sql", "SELECT 1;");
    let error = dir.import(Some(Tool::GolangMigrate), &[("users", "users_"), ("points", "points_*")]).unwrap_err();
    assert!(format!("{error:#}").contains("3_misc.up.sql: no --module pattern matches it"), "{error:#}");
    dir.import(Some(Tool::GolangMigrate), &[("users", "users_"), ("points", "points_*"), ("main", "*")]).unwrap();
    assert_eq!(labels(&dir.set()), ["users/V1__users.sql", "points/V2__points.sql", "main/V3__misc.sql"]);
}

#[test]
fn bad_input_is_refused_by_name() {
    let dir = Dir::new("refused");
    dir.write("notes.txt", "");
    let error = format!("{:#}", dir.import(None, &[]).unwrap_err());
    assert!(error.contains("from: no migration tool's layout found"), "{error}");
    dir.write("1_a.sql", "SELECT 1;").write("2_b.up.sql", "SELECT 2;");
    let error = format!("{:#}", dir.import(None, &[]).unwrap_err());
    assert!(error.contains("pass --from sqlx or --from golang-migrate"), "{error}");
    let dir = Dir::new("unbalanced");
    dir.write("1_a.up.sql", "SELECT 1;\nBEGIN;\nSELECT 2;\n");
    let error = format!("{:#}", dir.import(None, &[]).unwrap_err());
    assert!(error.contains("1_a.up.sql line 2: a BEGIN with no COMMIT/END"), "{error}");
    let dir = Dir::new("inside");
    dir.write("1_a.up.sql", "SELECT 1;\nBEGIN;\nCREATE INDEX CONCURRENTLY i ON t (x);\nCOMMIT;\n");
    let error = format!("{:#}", dir.import(None, &[]).unwrap_err());
    assert!(error.contains("1_a.up.sql line 3: CREATE/DROP INDEX CONCURRENTLY"), "{error}");
    let dir = Dir::new("nonempty");
    dir.write("1_a.up.sql", "SELECT 1;");
    std::fs::create_dir_all(dir.0.join("migrations")).unwrap();
    std::fs::write(dir.0.join("migrations").join("kept.txt"), "").unwrap();
    let error = format!("{:#}", dir.import(None, &[]).unwrap_err());
    assert!(error.contains("migrations is not empty") && error.contains("--force"), "{error}");
    assert!(Path::new(&dir.0.join("migrations").join("kept.txt")).exists(), "a refusal changes nothing");
}
