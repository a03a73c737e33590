//! Connecting: a server that accepts and never answers is given up on within `connect_timeout`
//! (a default applies), and no form of a password ever reaches a message, through `sdm` against
//! a real Postgres.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::path::{Path, PathBuf};

use devdb::{endpoint, test_server, Endpoint, PasswordCluster};

/// A socket on 127.0.0.1 that accepts connections and never says a word; it stops by itself.
struct SilentServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
                if let Ok((stream, _)) = listener.accept() {
                    held.push(stream);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        SilentServer { port, stop }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn sdm(url: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sdm"));
    cmd.args(args).env("DATABASE_URL", url).env_remove("PGCONNECT_TIMEOUT");
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    assert!(!out.status.success(), "sdm should fail: {}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[test]
fn a_server_that_never_answers_is_given_up_on_naming_the_host() {
    let silent = SilentServer::start();
    let url = format!("postgres://sdm:Hunter2Secret@127.0.0.1:{}/sdm?connect_timeout=2", silent.port);
    let started = Instant::now();
    let err = stderr(&sdm(&url, &["showmigrations"]));
    eprintln!("{err}");
    assert!(started.elapsed() < Duration::from_secs(30), "sdm gave up at all");
    let expected = format!(
        "error: cannot connect to postgres://sdm:***@127.0.0.1:{port}/sdm?connect_timeout=2: 127.0.0.1:{port} did \
         not answer within 2 s (connect_timeout=2)",
        port = silent.port
    );
    assert!(err.starts_with(&expected), "{err}");
    assert!(!err.contains("Hunter2Secret"), "{err}");

    // Without connect_timeout the default applies, here to the library's connect.
    let url = format!("host=127.0.0.1 port={} user=sdm password = 'Hunter2 Secret' dbname=sdm", silent.port);
    let err = app::db::connect(&url).err().expect("no answer, no connection").to_string();
    assert!(err.contains("did not answer within 5 s (connect_timeout=5, the default)"), "{err}");
    assert!(err.starts_with("cannot connect to host=127.0.0.1") && !err.contains("Hunter2"), "{err}");
}

#[test]
fn no_form_of_a_password_appears_in_sdm_messages() {
    // A real server's own error (a wrong password or no such database) and a refused port, in
    // every form.
    let Endpoint { host, port, user } = endpoint(test_server().url()).expect("the test server's address");
    let encoded = app::conninfo::encode(&host);
    let own_error = wrong_password_error(&user);
    let forms = [
        format!("postgres://{user}:Hunter2Secret@{encoded}:{port}/no_such_db"),
        format!("postgres://{user}:Hunter2%20Secret@{encoded}:{port}/no_such_db"),
        format!("postgresql://{encoded}:{port}/no_such_db?user={user}&password=Hunter2Secret"),
        format!("host={host} port={port} user={user} password = Hunter2Secret dbname=no_such_db"),
        format!("host={host} port={port} user={user} password='Hunter2 Secret' dbname=no_such_db"),
        format!("host={host} port={port} user={user} password='Hunter2\\'s' dbname=no_such_db"),
        "postgres://sdm:Hunter2Secret@127.0.0.1:1/sdm".to_string(),
        "host=127.0.0.1 port=1 password = 'Hunter2 Secret' dbname=sdm".to_string(),
        "host=127.0.0.1 port=1 password='Hunter2 Secret".to_string(),
        "postgres://sdm:Hunter2@Secret@127.0.0.1:1/sdm".to_string(),
        // A mistyped key is most likely a password: its value is masked too.
        format!("host={host} port={port} user={user} passwd=Hunter2Secret dbname=no_such_db"),
        format!("postgres://{encoded}:{port}/no_such_db?user={user}&pasword=Hunter2Secret"),
    ];
    for url in &forms {
        let err = stderr(&sdm(url, &["migrate"]));
        assert!(err.starts_with("error: cannot connect to "), "{url}: {err}");
        for secret in ["Hunter2", "Secret"] {
            assert!(!err.contains(secret), "{url}: {err}");
        }
        if url.contains("no_such_db") && !url.contains("passwd") && !url.contains("pasword") {
            assert!(err.contains(&own_error), "the server's own error: {err}");
        }
        eprintln!("{err}");
    }

    // With the test server's own password (if it has one) the server gets past the password to
    // the database, and says that one does not exist, without the password.
    let url = devdb::with_database(test_server().url(), "no_such_db");
    let err = stderr(&sdm(&url, &["migrate"]));
    let shown = format!("error: cannot connect to {}: ", app::db::redact(&url));
    let Some(rest) = err.strip_prefix(&shown) else { panic!("the redacted URL first: {err}") };
    assert!(rest.contains(r#"database "no_such_db" does not exist"#), "the server's own error: {err}");
    for secret in app::conninfo::ConnInfo::parse(&url).secrets() {
        assert!(!rest.contains(&secret), "the password in: {err}");
    }
}

/// Returns what the test server says to a connection as `user` with a wrong password, to a
/// database that does not exist: a server that checks passwords refuses the password first.
fn wrong_password_error(user: &str) -> String {
    let wrong = app::conninfo::with_param(test_server().url(), "password", "Hunter2Secret");
    match app::db::connect(&wrong) {
        Ok(_) => r#"database "no_such_db" does not exist"#.to_string(),
        Err(_) => format!(r#"password authentication failed for user "{user}""#),
    }
}

const PASSWORD: &str = "Corr3ct:Horse";

/// Runs `sdm showmigrations` with `url` and `env` only (no password source of the caller's,
/// `HOME` a folder of its own unless `env` sets it).
fn sdm_with(cluster: &PasswordCluster, url: &str, env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sdm"));
    cmd.arg("showmigrations").env("DATABASE_URL", url).env("HOME", cluster.dir().join("nohome"));
    for key in ["PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR", "PGCONNECT_TIMEOUT"] {
        cmd.env_remove(key);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

/// Writes `text` to `name` in the cluster's folder, readable by its owner only.
fn private_file(cluster: &PasswordCluster, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = cluster.dir().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn succeeds(out: &Output, case: &str) {
    assert!(out.status.success(), "{case}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_password_source_libpq_reads_works_against_a_server_that_checks_passwords() {
    let bin_dir = test_server().bin("initdb").unwrap().parent().unwrap().to_path_buf();
    let cluster = PasswordCluster::start(&bin_dir, "app", PASSWORD).unwrap_or_else(|e| panic!("{e}"));
    let port = cluster.port();
    let url = format!("postgres://app@127.0.0.1:{port}/app");
    let pairs = format!("host=127.0.0.1 port={port} user=app dbname=app");

    // No password anywhere: the server asks for one, and the message says so.
    let err = stderr(&sdm_with(&cluster, &url, &[]));
    assert!(err.contains("password missing") && err.contains("PGPASSWORD"), "{err}");
    eprintln!("{err}");

    // PGPASSWORD; a wrong one is refused by the server, and shown nowhere.
    let right = Path::new(PASSWORD);
    succeeds(&sdm_with(&cluster, &url, &[("PGPASSWORD", right)]), "PGPASSWORD");
    let err = stderr(&sdm_with(&cluster, &url, &[("PGPASSWORD", Path::new("Wr0ngHorse"))]));
    assert!(err.contains(r#"password authentication failed for user "app""#), "{err}");
    assert!(!err.contains("Wr0ng"), "{err}");
    eprintln!("{err}");

    // A password file: PGPASSFILE, ~/.pgpass, passfile= in either form (`:` escaped in it).
    let line = format!("# a comment\n127.0.0.1:{port}:app:app:{}\n", PASSWORD.replace(':', "\\:"));
    let passfile = private_file(&cluster, "passfile", &line);
    succeeds(&sdm_with(&cluster, &url, &[("PGPASSFILE", &passfile)]), "PGPASSFILE");
    let home = cluster.dir().join("home");
    private_file(&cluster, "home/.pgpass", &line);
    succeeds(&sdm_with(&cluster, &url, &[("HOME", &home)]), "~/.pgpass");
    succeeds(&sdm_with(&cluster, &format!("{url}?passfile={}", passfile.display()), &[]), "passfile= in a URL");
    succeeds(&sdm_with(&cluster, &format!("{pairs} passfile={}", passfile.display()), &[]), "passfile= in pairs");

    // A service: service=, PGSERVICE; PGSERVICEFILE, ~/.pg_service.conf, PGSYSCONFDIR. The
    // connection string's own keys win over the service's.
    let service = format!("[app]\nhost=127.0.0.1\nport={port}\nuser=app\ndbname=app\npassword={PASSWORD}\n");
    let service_file = private_file(&cluster, "services.conf", &service);
    succeeds(&sdm_with(&cluster, "service=app", &[("PGSERVICEFILE", &service_file)]), "service= with PGSERVICEFILE");
    succeeds(
        &sdm_with(&cluster, "dbname=app", &[("PGSERVICEFILE", &service_file), ("PGSERVICE", Path::new("app"))]),
        "PGSERVICE",
    );
    private_file(&cluster, "home/.pg_service.conf", &service);
    succeeds(&sdm_with(&cluster, "postgres://?service=app", &[("HOME", &home)]), "~/.pg_service.conf");
    let sysconf = cluster.dir().join("sysconf");
    private_file(&cluster, "sysconf/pg_service.conf", &service);
    succeeds(&sdm_with(&cluster, "service=app", &[("PGSYSCONFDIR", &sysconf)]), "PGSYSCONFDIR");
    let err = stderr(&sdm_with(&cluster, "service=app dbname=no_such_db", &[("PGSERVICEFILE", &service_file)]));
    assert!(err.contains(r#"database "no_such_db" does not exist"#), "the string's dbname wins: {err}");
    assert!(!err.contains("Corr3ct"), "{err}");
    // A wrong password in the service file is refused, and shown nowhere.
    let wrong = private_file(&cluster, "wrong.conf", &service.replace(PASSWORD, "Wr0ngHorse"));
    let err = stderr(&sdm_with(&cluster, "service=app", &[("PGSERVICEFILE", &wrong)]));
    assert!(err.contains(r#"password authentication failed for user "app""#) && !err.contains("Wr0ng"), "{err}");
    eprintln!("{err}");
    let err = stderr(&sdm_with(&cluster, "service=nope", &[("PGSERVICEFILE", &service_file)]));
    assert!(err.contains(r#"definition of service "nope" not found"#), "{err}");
    eprintln!("{err}");
}
