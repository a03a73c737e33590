//! `cargo xtask reset`: drop and recreate the database, refusing targets it must not touch.

use anyhow::bail;
use devdb::{database_of, Server};
use migrator::conninfo::ConnInfo;
use migrator::db::redact;
use xshell::Shell;

use crate::machine::is_this_machine;

use crate::{database, flags};
use ::squash::steps::Steps;

/// Databases no reset may drop, whatever the flags say.
const PROTECTED: &[&str] = &["postgres", "template0", "template1"];

impl flags::Reset {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let url = std::env::var("DATABASE_URL").ok().filter(|u| !u.trim().is_empty());
        check_reset(url.as_deref(), self.yes.as_deref(), self.allow_remote, &|name| std::env::var(name).ok())?;
        let server = database::server()?;
        let db = server.database_name();
        let target =
            if server.is_ephemeral() { "the ephemeral local cluster".to_string() } else { redact(server.url()) };
        let steps = [format!("drop database {db} on {target}"), format!("create database {db}")];
        if self.dry_run {
            for s in &steps {
                println!("would {s}");
            }
            return Ok(());
        }
        reset(&server, &db, &steps)
    }
}

fn reset(server: &Server, db: &str, names: &[String]) -> anyhow::Result<()> {
    let mut steps = Steps::new(|name: &str| name.to_string());
    steps.run(names[0].as_str(), || Ok(server.drop_database(db)?))?;
    steps.run(names[1].as_str(), || Ok(server.create_database(db, None)?))?;
    println!("database {db} is empty; run `cargo xtask migrate` to migrate it");
    Ok(())
}

/// Refuses a reset of `url` unless it is safe or confirmed; `None` is the ephemeral cluster.
///
/// A server that is not on this machine also needs `allow_remote`. The addresses judged are every
/// one a client may connect to: `host` and `hostaddr` (which the driver and libpq connect to
/// instead of `host`), each entry of a list, from the URL's authority or its query, and
/// `PGHOST`/`PGHOSTADDR` from `env` where the URL sets none (`pg_dump` and `psql` read them).
pub fn check_reset(
    url: Option<&str>,
    yes: Option<&str>,
    allow_remote: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    let Some(url) = url else { return Ok(()) };
    let shown = redact(url);
    let Some(db) = database_of(url) else { bail!("refusing to reset {shown}: DATABASE_URL names no database") };
    if PROTECTED.contains(&db.as_str()) {
        bail!("refusing to reset {shown}: `{db}` is a system database and is never dropped; point DATABASE_URL at the application's database");
    }
    url.parse::<postgres::Config>().map_err(|e: postgres::Error| {
        anyhow::anyhow!(
            "DATABASE_URL {shown} is not a valid connection string: {}",
            migrator::db::scrub(&e.to_string(), url)
        )
    })?;
    let remote: Vec<String> = addresses(url, env)
        .into_iter()
        .filter(|(address, _)| !is_this_machine(address))
        .map(|(address, from)| format!("{address} ({from})"))
        .collect();
    if !remote.is_empty() && !allow_remote {
        bail!(
            "refusing to reset database `{db}` on {}: it is not on this machine.\n\
             If you really mean to drop it, run: cargo xtask reset --allow-remote --yes={db}",
            remote.join(", ")
        );
    }
    match yes {
        Some(name) if name == db => Ok(()),
        Some(name) => bail!("refusing to reset {shown}: --yes={name} does not name the target database `{db}`; run: cargo xtask reset --yes={db}{}", if remote.is_empty() { "" } else { " --allow-remote" }),
        None => bail!("refusing to reset {shown} without confirmation: this drops every table and row in `{db}`.\nTo confirm, run: cargo xtask reset --yes={db}{}", if remote.is_empty() { "" } else { " --allow-remote" }),
    }
}

/// Returns every address a client of `url` may connect to, each with where it was set.
///
/// The i-th `hostaddr`, when there is one, is where the client connects instead of the i-th
/// `host` (which then only names the server). The driver reads the URL alone; libpq also fills
/// what the URL leaves out from `PGHOST` and `PGHOSTADDR`. With neither, clients use the local
/// Unix socket.
fn addresses(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, &'static str)> {
    let info = ConnInfo::parse(url);
    let entries = |values: Vec<String>, from: &'static str| -> Vec<(String, &'static str)> {
        values.iter().flat_map(|v| v.split(',')).map(|entry| (entry.trim().to_string(), from)).collect()
    };
    let hosts = entries(info.values("host").map(str::to_string).collect(), "host");
    let hostaddrs = entries(info.values("hostaddr").map(str::to_string).collect(), "hostaddr");
    let or_env = |written: &[(String, &'static str)], variable: &'static str| match env(variable) {
        Some(value) if written.is_empty() => entries(vec![value], variable),
        _ => written.to_vec(),
    };
    let driver = connected(&hosts, &hostaddrs);
    let libpq = connected(&or_env(&hosts, "PGHOST"), &or_env(&hostaddrs, "PGHOSTADDR"));
    let mut found: Vec<(String, &'static str)> = driver.into_iter().chain(libpq).collect();
    found.sort();
    found.dedup();
    found
}

/// Returns what a client connects to for each entry: the `hostaddr` if given, else the `host`.
fn connected<'a>(hosts: &[(String, &'a str)], hostaddrs: &[(String, &'a str)]) -> Vec<(String, &'a str)> {
    (0..hosts.len().max(hostaddrs.len())).filter_map(|i| hostaddrs.get(i).or(hosts.get(i)).cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::check_reset;

    /// An environment without PGHOST or PGHOSTADDR.
    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn check(url: &str, yes: Option<&str>, remote: bool) -> anyhow::Result<()> {
        check_reset(Some(url), yes, remote, &no_env)
    }

    fn refused(url: &str, yes: Option<&str>, remote: bool) -> String {
        check(url, yes, remote).expect_err("should be refused").to_string()
    }

    #[test]
    fn ephemeral_cluster_needs_no_confirmation() {
        check_reset(None, None, false, &no_env).unwrap();
    }

    #[test]
    fn local_database_needs_its_exact_name() {
        let msg = refused("postgres://bob:pw@localhost/sdm", None, false);
        assert!(msg.contains("--yes=sdm"), "{msg}");
        let msg = refused("postgres://bob:pw@127.0.0.1:5433/sdm", Some("sdm_dev"), false);
        assert!(msg.contains("does not name the target database `sdm`"), "{msg}");
        for url in [
            "postgres://bob:pw@localhost/sdm",
            "host=/var/run/postgresql dbname=sdm",
            "postgres://bob@[::1]/sdm",
            "postgres:///sdm?host=%2Fvar%2Frun%2Fpostgresql",
            "host=db.example.com hostaddr=127.0.0.1 dbname=sdm",
            "host=localhost,/tmp port=5432,5433 dbname=sdm",
        ] {
            assert!(check(url, Some("sdm"), false).is_ok(), "{url}");
        }
    }

    #[test]
    fn remote_host_needs_allow_remote_and_the_name() {
        let msg = refused("postgres://bob:pw@db.example.com/sdm", Some("sdm"), false);
        assert!(msg.contains("on db.example.com (host): it is not on this machine"), "{msg}");
        assert!(msg.contains("--allow-remote --yes=sdm"), "{msg}");
        let msg = refused("postgres://bob:pw@203.0.113.5/sdm", None, true);
        assert!(msg.contains("--yes=sdm --allow-remote"), "{msg}");
        check("postgres://bob:pw@db.example.com/sdm", Some("sdm"), true).unwrap();
    }

    #[test]
    fn the_address_the_client_really_uses_is_judged() {
        for (url, remote) in [
            ("host=localhost hostaddr=203.0.113.5 user=bob password=pw dbname=sdm", "203.0.113.5 (hostaddr)"),
            ("host = localhost,db.example.com dbname=sdm", "db.example.com (host)"),
            ("postgres://bob@localhost/sdm?hostaddr=203.0.113.5", "203.0.113.5 (hostaddr)"),
            ("postgres://bob@localhost/sdm?host=db.example.com", "db.example.com (host)"),
            ("postgres://bob@localhost,db.example.com:5433/sdm", "db.example.com (host)"),
        ] {
            let msg = refused(url, Some("sdm"), false);
            assert!(msg.contains(&format!("on {remote}: it is not on this machine")), "{url}: {msg}");
            check(url, Some("sdm"), true).unwrap();
        }
        // pg_dump and psql take PGHOST and PGHOSTADDR where the URL sets no host.
        let env = |name: &str| match name {
            "PGHOST" => Some("db.example.com".to_string()),
            "PGHOSTADDR" => Some("203.0.113.5".to_string()),
            _ => None,
        };
        let msg = check_reset(Some("dbname=sdm user=bob"), Some("sdm"), false, &env).unwrap_err().to_string();
        assert!(msg.contains("on 203.0.113.5 (PGHOSTADDR): it is not"), "{msg}");
        let pghost = |name: &str| (name == "PGHOST").then(|| "db.example.com".to_string());
        let msg = check_reset(Some("dbname=sdm"), Some("sdm"), false, &pghost).unwrap_err().to_string();
        assert!(msg.contains("on db.example.com (PGHOST): it is not"), "{msg}");
        check_reset(Some("host=localhost dbname=sdm"), Some("sdm"), false, &pghost).expect("the URL's host wins");
    }

    #[test]
    fn system_databases_are_never_dropped() {
        for db in ["postgres", "template1"] {
            let msg = refused(&format!("postgres://localhost/{db}"), Some(db), true);
            assert!(msg.contains("system database"), "{msg}");
        }
    }

    #[test]
    fn refusals_never_show_the_password() {
        for (url, yes, remote) in [
            ("postgres://bob:hunter2@db.example.com/sdm", None, false),
            ("postgres://bob:hunter2@localhost/sdm", Some("x"), false),
            ("host=db.example.com user=bob password=hunter2 dbname=sdm", None, false),
            ("host=localhost user=bob password = hunter2 dbname=sdm", None, false),
            ("host=localhost user=bob password='hunter2 x' dbname=sdm", Some("x"), false),
            ("postgres://localhost/sdm?password=hunter2", None, false),
            ("postgres://bob:hunter2@localhost/postgres", None, false),
        ] {
            let msg = refused(url, yes, remote);
            assert!(!msg.contains("hunter2"), "{msg}");
        }
    }
}
