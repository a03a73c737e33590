//! A server stopped under a migration (`pg_ctl stop -m immediate`, as a crash or a kill would)
//! is reported as a lost connection, never as a fault of the migration's SQL.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use devdb::Server;
use migrator::migrations::MigrationSet;

/// Stops the cluster in `root` at once, as the `postgres` user when we are root.
fn stop_immediately(root: &Path) {
    let pg_ctl = devdb::find_bin_dir().unwrap().join("pg_ctl");
    // SAFETY: geteuid has no preconditions.
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(pg_ctl);
        cmd
    } else {
        Command::new(pg_ctl)
    };
    let out = cmd.arg("-D").arg(root.join("data")).args(["-m", "immediate", "stop"]).output().unwrap();
    assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
}

fn scratch_root() -> PathBuf {
    let root = devdb::scratch_root().join(format!("devdb-lost-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    root
}

#[test]
fn a_server_stopped_under_a_migration_is_not_blamed_on_the_file() {
    let root = scratch_root();
    let server = Server::ephemeral_at(&root).unwrap();
    let dir = root.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("V1__fast.sql"), "CREATE TABLE fast (id int);\n").unwrap();
    std::fs::write(dir.join("V24__slow.sql"), "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);\n").unwrap();
    let set = MigrationSet::from_dir(&dir).unwrap();

    let mut client = server.connect().unwrap();
    let url = server.url().to_string();
    let stopper = {
        let root = root.clone();
        std::thread::spawn(move || {
            let mut watcher = migrator::db::connect(&url).unwrap();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                let sleeping: i64 = watcher
                    .query_one("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()", &[])
                    .unwrap()
                    .get(0);
                if sleeping == 1 {
                    stop_immediately(&root);
                    return true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        })
    };
    let error = migrator::migrate::migrate(&mut client, &set).unwrap_err();
    assert!(stopper.join().unwrap(), "the server was stopped while V24 ran");
    let shown = error.to_string();
    eprintln!("{shown}");
    assert!(matches!(error, migrator::Error::ConnectionLost { ref name, .. } if name == "V24__slow"), "{shown}");
    assert!(shown.starts_with("lost the connection to the server while migration V24__slow"), "{shown}");
    assert!(shown.contains("no fault of its SQL"), "{shown}");
    assert!(!shown.contains("fix ") && !shown.contains("rolled back"), "{shown}");
    drop(client);
    drop(server);
    std::fs::remove_dir_all(&root).unwrap();
}
