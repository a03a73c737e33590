//! No form of a password in `DATABASE_URL` reaches the output of any `cargo xtask` command that
//! takes a URL: URL user info (percent-encoded too), query parameters, key=value pairs with
//! spaces and quotes, and the driver's and the server's own error texts.

use std::path::Path;
use std::process::{Command, Output};

use devdb::{endpoint, role_server, test_server, Endpoint};

mod common;

const SECRETS: [&str; 2] = ["Hunter2", "Secret"];

fn xtask(url: &str, args: &[&str]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(root)
        .env("DATABASE_URL", url)
        .output()
        .unwrap_or_else(|e| panic!("run xtask {args:?}: {e}"))
}

fn assert_no_secret(url: &str, args: &[&str], out: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for secret in SECRETS {
        assert!(!text.contains(secret), "xtask {args:?} with {url:?} showed the password:\n{text}");
    }
    assert!(!text.contains("panicked"), "{text}");
    text
}

/// Every form of a password, on a server that refuses the connection and on a real one that
/// has no such database.
fn forms() -> Vec<String> {
    let Endpoint { host, port, user } = endpoint(test_server().url()).expect("the test server's address");
    let encoded = migrator::conninfo::encode(&host);
    vec![
        "postgres://sdm:Hunter2Secret@127.0.0.1:1/sdm".to_string(),
        "postgres://sdm:Hunter2%20Secret@localhost:1/sdm".to_string(),
        "postgres://localhost:1/sdm?user=sdm&password=Hunter2Secret".to_string(),
        "host=127.0.0.1 port=1 user=sdm password = Hunter2Secret dbname=sdm".to_string(),
        "host=127.0.0.1 port=1 user=sdm password='Hunter2 Secret' dbname=sdm".to_string(),
        "host=127.0.0.1 port=1 user=sdm password='Hunter2\\'s Secret' dbname=sdm".to_string(),
        format!("postgres://{user}:Hunter2Secret@{encoded}:{port}/no_such_db"),
        format!("host={host} port={port} user={user} password = 'Hunter2 Secret' dbname=no_such_db"),
    ]
}

#[test]
fn no_xtask_command_shows_a_password() {
    let copy = common::Migrations::copy("passwords");
    let migrations = copy.dir();
    let migrations = migrations.as_str();
    for url in forms() {
        let db = if url.contains("no_such_db") { "no_such_db" } else { "sdm" };
        let yes = format!("--yes={db}");
        for args in [
            vec!["reset"],
            vec!["reset", yes.as_str()],
            vec!["reset", "--dry-run", yes.as_str()],
            vec!["migrate"],
            vec!["migrate", "--dry-run"],
            vec!["status"],
            vec!["squash", "--check", "--migrations", migrations],
            vec!["verify"],
        ] {
            if args == ["reset", yes.as_str()] && db == "no_such_db" {
                // It would create the database; the refusal and the dry run show the URL.
                continue;
            }
            let out = xtask(&url, &args);
            let text = assert_no_secret(&url, &args, &out);
            let dry_run = args.contains(&"--dry-run") && args[0] == "reset";
            assert_eq!(out.status.success(), dry_run, "xtask {args:?} with {url:?}:\n{text}");
            if args == ["migrate"] {
                assert!(text.contains("cannot connect to ") && text.contains("***"), "{text}");
                eprintln!("{text}");
            }
        }
    }
}

/// A server that checks passwords takes this one only from a role made with it: one on
/// [`role_server`] (the test server when its role may create roles).
#[test]
fn a_migrate_that_succeeds_names_the_database_without_its_password() {
    let server = role_server();
    let role = server.test_role().unwrap();
    let password = "Hunter2 Secret";
    let sql = format!("ALTER ROLE \"{}\" PASSWORD '{password}'", role.name());
    server.connect().unwrap().batch_execute(&sql).unwrap();
    let url = migrator::conninfo::with_param(&role.url(), "password", password);
    let out = xtask(&url, &["migrate"]);
    let text = assert_no_secret(&url, &["migrate"], &out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("/{}?", role.name())) && text.contains("password=***"), "{text}");
}
