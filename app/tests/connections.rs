//! Connecting: a server that accepts and never answers is given up on within `connect_timeout`
//! (a default applies), and no form of a password ever reaches a message, through `sdm` against
//! a real Postgres.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use devdb::{endpoint, test_server, Endpoint};

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

/// A cluster of the test's own that checks passwords: `scram-sha-256` over TCP on 127.0.0.1 (its
/// socket trusts the set-up), with role `app` whose password is [`PASSWORD`]; stopped on drop.
struct PasswordCluster {
    dir: tempfile::TempDir,
    port: u16,
    bin_dir: std::path::PathBuf,
}

const PASSWORD: &str = "Corr3ct:Horse";

impl PasswordCluster {
    fn start() -> PasswordCluster {
        let bin_dir = devdb::find_bin_dir().unwrap();
        let dir = tempfile::Builder::new().prefix("sdm-scram-").tempdir().unwrap();
        // As root the server runs as `postgres` (devdb's rule), which must own its folders.
        devdb::chown_to_postgres(dir.path()).unwrap();
        let data = dir.path().join("data");
        let run = |mut cmd: Command| {
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let mut initdb = devdb::server_command(&bin_dir, "initdb");
        initdb.arg("-D").arg(&data);
        initdb.args(["-U", "postgres", "-A", "trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8"]);
        initdb.args(["--locale=C", "--no-instructions"]);
        run(initdb);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c password_encryption=scram-sha-256",
            dir.path().display()
        );
        let mut start = devdb::server_command(&bin_dir, "pg_ctl");
        start.arg("-D").arg(&data).arg("-l").arg(dir.path().join("log")).args(["-w", "-o", &options, "start"]);
        run(start);
        let cluster = PasswordCluster { port, bin_dir, dir };
        let admin = format!("host={} port={port} user=postgres dbname=postgres", cluster.dir.path().display());
        let mut client = app::db::connect(&admin).unwrap();
        client.batch_execute(&format!("CREATE ROLE app LOGIN PASSWORD '{PASSWORD}'")).unwrap();
        client.batch_execute("CREATE DATABASE app OWNER app").unwrap();
        cluster
    }

    /// Runs `sdm showmigrations` with `url` and `env` only (no password source of the caller's,
    /// `HOME` a folder of its own unless `env` sets it).
    fn sdm(&self, url: &str, env: &[(&str, &std::path::Path)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sdm"));
        cmd.arg("showmigrations").env("DATABASE_URL", url).env("HOME", self.dir.path().join("nohome"));
        for key in ["PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR", "PGCONNECT_TIMEOUT"] {
            cmd.env_remove(key);
        }
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.output().unwrap()
    }

    /// Writes `text` to `name` in the cluster's folder, readable by its owner only.
    fn file(&self, name: &str, text: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }
}

impl Drop for PasswordCluster {
    fn drop(&mut self) {
        let mut stop = devdb::server_command(&self.bin_dir, "pg_ctl");
        stop.arg("-D").arg(self.dir.path().join("data")).args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
    }
}

fn succeeds(out: &Output, case: &str) {
    assert!(out.status.success(), "{case}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_password_source_libpq_reads_works_against_a_server_that_checks_passwords() {
    let cluster = PasswordCluster::start();
    let port = cluster.port;
    let url = format!("postgres://app@127.0.0.1:{port}/app");
    let pairs = format!("host=127.0.0.1 port={port} user=app dbname=app");

    // No password anywhere: the server asks for one, and the message says so.
    let err = stderr(&cluster.sdm(&url, &[]));
    assert!(err.contains("password missing") && err.contains("PGPASSWORD"), "{err}");
    eprintln!("{err}");

    // PGPASSWORD; a wrong one is refused by the server, and shown nowhere.
    let right = std::path::Path::new(PASSWORD);
    succeeds(&cluster.sdm(&url, &[("PGPASSWORD", right)]), "PGPASSWORD");
    let err = stderr(&cluster.sdm(&url, &[("PGPASSWORD", std::path::Path::new("Wr0ngHorse"))]));
    assert!(err.contains(r#"password authentication failed for user "app""#), "{err}");
    assert!(!err.contains("Wr0ng"), "{err}");
    eprintln!("{err}");

    // A password file: PGPASSFILE, ~/.pgpass, passfile= in either form (`:` escaped in it).
    let line = format!("# a comment\n127.0.0.1:{port}:app:app:{}\n", PASSWORD.replace(':', "\\:"));
    let passfile = cluster.file("passfile", &line);
    succeeds(&cluster.sdm(&url, &[("PGPASSFILE", &passfile)]), "PGPASSFILE");
    let home = cluster.dir.path().join("home");
    cluster.file("home/.pgpass", &line);
    succeeds(&cluster.sdm(&url, &[("HOME", &home)]), "~/.pgpass");
    succeeds(&cluster.sdm(&format!("{url}?passfile={}", passfile.display()), &[]), "passfile= in a URL");
    succeeds(&cluster.sdm(&format!("{pairs} passfile={}", passfile.display()), &[]), "passfile= in pairs");

    // A service: service=, PGSERVICE; PGSERVICEFILE, ~/.pg_service.conf, PGSYSCONFDIR. The
    // connection string's own keys win over the service's.
    let service = format!("[app]\nhost=127.0.0.1\nport={port}\nuser=app\ndbname=app\npassword={PASSWORD}\n");
    let service_file = cluster.file("services.conf", &service);
    succeeds(&cluster.sdm("service=app", &[("PGSERVICEFILE", &service_file)]), "service= with PGSERVICEFILE");
    succeeds(
        &cluster.sdm("dbname=app", &[("PGSERVICEFILE", &service_file), ("PGSERVICE", std::path::Path::new("app"))]),
        "PGSERVICE",
    );
    cluster.file("home/.pg_service.conf", &service);
    succeeds(&cluster.sdm("postgres://?service=app", &[("HOME", &home)]), "~/.pg_service.conf");
    let sysconf = cluster.dir.path().join("sysconf");
    cluster.file("sysconf/pg_service.conf", &service);
    succeeds(&cluster.sdm("service=app", &[("PGSYSCONFDIR", &sysconf)]), "PGSYSCONFDIR");
    let err = stderr(&cluster.sdm("service=app dbname=no_such_db", &[("PGSERVICEFILE", &service_file)]));
    assert!(err.contains(r#"database "no_such_db" does not exist"#), "the string's dbname wins: {err}");
    assert!(!err.contains("Corr3ct"), "{err}");
    // A wrong password in the service file is refused, and shown nowhere.
    let wrong = cluster.file("wrong.conf", &service.replace(PASSWORD, "Wr0ngHorse"));
    let err = stderr(&cluster.sdm("service=app", &[("PGSERVICEFILE", &wrong)]));
    assert!(err.contains(r#"password authentication failed for user "app""#) && !err.contains("Wr0ng"), "{err}");
    eprintln!("{err}");
    let err = stderr(&cluster.sdm("service=nope", &[("PGSERVICEFILE", &service_file)]));
    assert!(err.contains(r#"definition of service "nope" not found"#), "{err}");
    eprintln!("{err}");
}
