//! The ephemeral cluster stops when the last process using it ends (on return, on `exit` after
//! an error, on Ctrl-C or SIGTERM, and by its watchdog after a kill), and the next process reuses
//! its folder.
//!
//! The processes are this test binary run again on one of the `child_` tests, which are ignored
//! in a normal run: each starts or joins the cluster in the folder `DEVDB_TEST_ROOT` names.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use devdb::Server;
use migrator::migrations::MigrationSet;

const ROOT: &str = "DEVDB_TEST_ROOT";
const READY: &str = "cluster ready";

/// Returns a command running child test `name` of this binary on the cluster in `root`.
fn child(name: &str, root: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args([name, "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
        .env_remove("DATABASE_URL")
        .env(ROOT, root);
    cmd
}

fn run_child(name: &str, root: &Path) -> Output {
    child(name, root).output().unwrap_or_else(|e| panic!("run child {name}: {e}"))
}

fn root_given() -> PathBuf {
    PathBuf::from(std::env::var_os(ROOT).expect("run as a child of the lifetime tests, which set DEVDB_TEST_ROOT"))
}

fn scratch_root(name: &str) -> PathBuf {
    let root = devdb::scratch_root().join(format!("devdb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    root
}

fn server_running(root: &Path) -> bool {
    root.join("data/postmaster.pid").exists()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_last_user_stops_the_cluster_and_the_next_reuses_it() {
    let root = scratch_root("reuse");
    let out = run_child("child_queries_and_returns", &root);
    assert!(out.status.success(), "{}", text(&out));
    assert!(root.join("data/PG_VERSION").exists(), "initdb ran into {}", root.display());
    assert!(!server_running(&root), "the cluster was left running after its user returned");
    let initialised = std::fs::metadata(root.join("data/PG_VERSION")).unwrap().modified().unwrap();

    let out = run_child("child_fails_to_migrate", &root);
    let output = text(&out);
    assert_eq!(out.status.code(), Some(1), "{output}");
    assert!(output.contains("migration V1__") && output.contains("already exists"), "{output}");
    assert!(!output.contains("panicked"), "{output}");
    assert!(!server_running(&root), "the cluster was left running after exit(1)");

    let modified = std::fs::metadata(root.join("data/PG_VERSION")).unwrap().modified().unwrap();
    assert_eq!(initialised, modified, "the second process reused the folder instead of running initdb");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_signal_or_a_kill_stops_the_cluster_once_its_other_users_are_gone() {
    let root = scratch_root("signal");
    for signal in ["-INT", "-TERM"] {
        let mut holder = hold(&root);

        // Another process joins and leaves: the holder still uses the server, so it keeps running.
        let out = run_child("child_queries_and_returns", &root);
        assert!(out.status.success(), "{}", text(&out));
        assert!(server_running(&root), "a leaving process stopped the server another one uses");

        let status = Command::new("kill").args([signal, &holder.id().to_string()]).status().unwrap();
        assert!(status.success());
        let exit = holder.wait().unwrap();
        assert_eq!(exit.code(), Some(130), "kill {signal} exits with 130");
        assert!(!server_running(&root), "the cluster was left running after kill {signal}");
    }
    killed_or_stopped_by_hand(&root);
    std::fs::remove_dir_all(&root).unwrap();
}

/// A last user killed outright leaves no server behind (the watchdog stops it), and `db stop`
/// refuses a cluster in use unless forced. Runs on the stopped cluster in `root`.
fn killed_or_stopped_by_hand(root: &Path) {
    assert!(!devdb::Cluster::stop_left_behind(root, false).unwrap(), "nothing running, nothing to stop");
    let mut holder = hold(root);
    let refused = devdb::Cluster::stop_left_behind(root, false).unwrap_err();
    assert!(matches!(refused, devdb::Error::InUse(_)), "{refused}");
    assert!(server_running(root), "a refused stop left the server alone");

    // SIGKILL: no exit hook, no signal handler; only the watchdog can stop the server now.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server_running(root) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!server_running(root), "the cluster was left running 20 s after its only user was killed");

    // The next user starts it again, with a watchdog of its own; --force stops it under its user.
    let mut holder = hold(root);
    assert!(devdb::Cluster::stop_left_behind(root, true).unwrap(), "--force stops it");
    assert!(!server_running(root));
    assert!(!devdb::Cluster::stop_left_behind(root, false).unwrap(), "stopped already");
    // The holder's own stop at exit finds the server gone, and it still ends as a signal says.
    Command::new("kill").args(["-TERM", &holder.id().to_string()]).status().unwrap();
    assert_eq!(holder.wait().unwrap().code(), Some(130));
}

#[test]
#[ignore = "a child process of the tests above, which run it"]
fn child_queries_and_returns() {
    let server = Server::ephemeral_at(&root_given()).unwrap();
    let one: i32 = server.connect().unwrap().query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    // `server` drops here: that releases this process's use of the cluster.
}

#[test]
#[ignore = "a child process of the tests above, which run it"]
fn child_fails_to_migrate() {
    // In a static, like the test server: never dropped, so only the exit hook can stop it.
    static SERVER: OnceLock<Server> = OnceLock::new();
    let server = SERVER.get_or_init(|| Server::ephemeral_at(&root_given()).unwrap());
    let mut client = server.connect().unwrap();
    client.batch_execute("CREATE TABLE IF NOT EXISTS users_account (id int)").unwrap();
    let err = migrator::migrate::migrate(
        &mut client,
        &MigrationSet::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../test_data/chains/sdm/migrations"))
            .unwrap(),
    )
    .unwrap_err();
    eprintln!("error: {err}");
    std::process::exit(1);
}

#[test]
#[ignore = "a child process of the tests above, which run it"]
fn child_waits_for_a_signal() {
    let _server = Server::ephemeral_at(&root_given()).unwrap();
    println!("{READY}");
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no signal arrived in two minutes");
}

/// Starts a child that holds the cluster in `root` until a signal, once its cluster is ready.
fn hold(root: &Path) -> std::process::Child {
    let mut holder = child("child_waits_for_a_signal", root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run the holding child");
    let stdout = BufReader::new(holder.stdout.take().expect("piped"));
    assert!(stdout.lines().map_while(Result::ok).any(|line| line.contains(READY)), "the child ended early");
    holder
}
