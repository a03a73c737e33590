//! Ctrl-C during `cargo xtask squash` stops the local Postgres under the running migration: the
//! error says it was interrupted and does not blame the migration's SQL.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn ctrl_c_during_a_squash_says_so_and_blames_no_migration() {
    let root = devdb::scratch_root().join(format!("xtask-interrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let migrations = root.join("migrations/users");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(migrations.join("V1__users_accounts.sql"), "CREATE TABLE users_account (id int);\n").unwrap();
    std::fs::write(migrations.join("V2__users_slow.sql"), "SELECT pg_sleep(30);\n").unwrap();
    let cluster: PathBuf = root.join("pg");

    let mut squash = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["squash", "--allow-dirty", "--migrations"])
        .arg(root.join("migrations"))
        .env_remove("DATABASE_URL")
        .env("SDM_PG_DIR", &cluster)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until V2 runs on the squash's own cluster, then press Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sleeping = false;
    while !sleeping && Instant::now() < deadline && squash.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(50));
        let url = devdb::socket_url(&cluster.join("socket"), "postgres");
        let Ok(mut client) = migrator::db::connect(&url) else { continue };
        let query = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'BEGIN;%pg_sleep(30)%'";
        sleeping = client.query_one(query, &[]).map(|row| row.get::<_, i64>(0) == 1).unwrap_or(false);
    }
    assert!(sleeping, "the squash never got to V2");
    assert!(Command::new("kill").args(["-INT", &squash.id().to_string()]).status().unwrap().success());
    let status = squash.wait().unwrap();
    let mut stderr = String::new();
    squash.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    eprintln!("{stderr}");

    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("error: interrupted (Ctrl-C or SIGTERM), which stops the local Postgres"), "{stderr}");
    assert!(stderr.contains("lost the connection to the server while migration V2__users_slow"), "{stderr}");
    assert!(stderr.contains("no fault of its SQL") && !stderr.contains("fix "), "{stderr}");
    assert!(!stderr.contains("warning: could not drop database"), "{stderr}");
    assert!(!cluster.join("data/postmaster.pid").exists(), "the cluster was stopped");
    std::fs::remove_dir_all(&root).unwrap();
}
