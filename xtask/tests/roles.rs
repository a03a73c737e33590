//! `cargo xtask reset`, `migrate`, `status` and `squash --check` work for a role that is not a
//! superuser but owns its database, on a real Postgres with a role the test creates.

use std::path::Path;
use std::process::Command;

use devdb::role_server;

mod common;

fn xtask(url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn xtask_commands_work_for_a_role_that_owns_its_database() {
    let role = role_server().test_role().unwrap();
    let url = role.url();
    let name = role.name();

    let (ok, text) = xtask(&url, &["migrate"]);
    assert!(ok && text.contains(": applied ") && text.contains(" migration(s)"), "{text}");
    let (ok, text) = xtask(&url, &["reset", &format!("--yes={name}")]);
    assert!(ok && text.contains(&format!("database {name} is empty")), "{text}");
    let (ok, text) = xtask(&url, &["status"]);
    assert!(ok && text.contains("[ ]") && !text.contains("[X]"), "reset emptied it: {text}");
    let (ok, text) = xtask(&url, &["migrate"]);
    assert!(ok, "{text}");
    let (ok, text) = xtask(&url, &["status"]);
    assert!(ok && text.contains("[X]") && !text.contains("[ ]"), "{text}");
    let owner: String = migrator::db::connect(&url)
        .unwrap()
        .query_one("SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = current_database()", &[])
        .unwrap()
        .get(0);
    assert_eq!(owner, name, "the recreated database belongs to the role");

    let migrations = common::Migrations::copy("roles");
    let (ok, text) = xtask(&url, &["squash", "--check", "--migrations", &migrations.dir()]);
    let squashed = ok && text.contains("migrations before:");
    assert!(squashed || text.contains("is not squashed: run `cargo xtask squash`"), "{text}");
    assert!(!text.contains("permission denied"), "{text}");
}

#[test]
fn xtask_migrate_runs_the_same_engine_on_a_folder() {
    let role = role_server().test_role().unwrap();
    let url = role.url();
    let dir = std::env::temp_dir().join(format!("sdm-xtask-folder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("V1__folder_table.sql"), "-- lock-timeout: 2s\nCREATE TABLE folder_table (id int);\n")
        .unwrap();
    let folder = dir.to_str().unwrap();

    let (ok, text) = xtask(&url, &["migrate", "--migrations", folder, "--lock-timeout", "soon"]);
    assert!(!ok && text.contains("--lock-timeout: `soon` is not a duration such as 500ms, 5s or 1min"), "{text}");
    let (ok, text) =
        xtask(&url, &["migrate", "--migrations", folder, "--lock-timeout", "200ms", "--lock-retries", "1"]);
    assert!(ok && text.contains("Applied V1__folder_table") && text.contains(": applied 1 migration(s)"), "{text}");
    let exists: bool = app::db::connect(&url)
        .unwrap()
        .query_one("SELECT to_regclass('folder_table') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(exists, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
