//! The ephemeral cluster is stopped when an xtask command fails, and reused by the next one.

use std::path::Path;
use std::process::Command;

fn xtask(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("SDM_PG_DIR", root)
        .output()
        .expect("run xtask")
}

fn server_running(root: &Path) -> bool {
    root.join("data/postmaster.pid").exists()
}

#[test]
fn cluster_is_stopped_after_an_error_and_reused_after() {
    let root = std::env::temp_dir().join(format!("sdm-pg-cleanup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);

    let out = xtask(&root, &["status"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(root.join("data/PG_VERSION").exists(), "initdb ran into {}", root.display());
    assert!(!server_running(&root), "status stopped the cluster it started");
    let initialised = std::fs::metadata(root.join("data/PG_VERSION")).unwrap().modified().unwrap();

    // Make the first migration fail: its table already exists.
    {
        let server = app::cluster::Server::ephemeral_at(&root).unwrap();
        server.connect().unwrap().batch_execute("CREATE TABLE users_account (id int)").unwrap();
    }
    assert!(!server_running(&root));

    let out = xtask(&root, &["migrate"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "migrate should fail: {}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("V1__users_initial") && stderr.contains("already exists"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!server_running(&root), "the cluster was left running after the error");

    let modified = std::fs::metadata(root.join("data/PG_VERSION")).unwrap().modified().unwrap();
    assert_eq!(initialised, modified, "the second command reused the folder instead of running initdb");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn ctrl_c_stops_the_cluster() {
    // `bench` starts a cluster in $TMPDIR/sdm-pg-bench-<pid> and keeps it busy for seconds.
    let tmp = std::env::temp_dir().join(format!("sdm-ctrlc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["bench", "--no-squash"])
        .env_remove("DATABASE_URL")
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run xtask bench");
    let root = tmp.join(format!("sdm-pg-bench-{}", child.id()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !server_running(&root) {
        assert!(std::time::Instant::now() < deadline, "the bench never started its cluster in {}", root.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(130), "Ctrl-C exits with 130");
    assert!(!server_running(&root), "the cluster was left running after Ctrl-C");
    let _ = std::fs::remove_dir_all(&tmp);
}
