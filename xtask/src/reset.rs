//! `cargo xtask reset`: drop and recreate the database, refusing targets it must not touch.

use anyhow::bail;
use app::db::redact;
use devdb::{database_of, Server};
use postgres::config::Host;
use xshell::Shell;

use crate::steps::Steps;
use crate::{database, flags};

/// Databases no reset may drop, whatever the flags say.
const PROTECTED: &[&str] = &["postgres", "template0", "template1"];

impl flags::Reset {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let url = std::env::var("DATABASE_URL").ok().filter(|u| !u.trim().is_empty());
        check_reset(url.as_deref(), self.yes.as_deref(), self.allow_remote)?;
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
pub fn check_reset(url: Option<&str>, yes: Option<&str>, allow_remote: bool) -> anyhow::Result<()> {
    let Some(url) = url else { return Ok(()) };
    let shown = redact(url);
    let Some(db) = database_of(url) else { bail!("refusing to reset {shown}: DATABASE_URL names no database") };
    if PROTECTED.contains(&db.as_str()) {
        bail!("refusing to reset {shown}: `{db}` is a system database and is never dropped; point DATABASE_URL at the application's database");
    }
    let config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
        anyhow::anyhow!(
            "DATABASE_URL {shown} is not a valid connection string: {}",
            app::db::scrub(&e.to_string(), url)
        )
    })?;
    let remote: Vec<String> = config
        .get_hosts()
        .iter()
        .filter_map(|h| match h {
            Host::Tcp(name) if !is_local_host(name.as_str()) => Some(name.clone()),
            _ => None,
        })
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

fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::check_reset;

    fn refused(url: &str, yes: Option<&str>, remote: bool) -> String {
        check_reset(Some(url), yes, remote).expect_err("should be refused").to_string()
    }

    #[test]
    fn ephemeral_cluster_needs_no_confirmation() {
        check_reset(None, None, false).unwrap();
    }

    #[test]
    fn local_database_needs_its_exact_name() {
        let msg = refused("postgres://bob:pw@localhost/sdm", None, false);
        assert!(msg.contains("--yes=sdm"), "{msg}");
        let msg = refused("postgres://bob:pw@127.0.0.1:5433/sdm", Some("sdm_dev"), false);
        assert!(msg.contains("does not name the target database `sdm`"), "{msg}");
        check_reset(Some("postgres://bob:pw@localhost/sdm"), Some("sdm"), false).unwrap();
        check_reset(Some("host=/var/run/postgresql dbname=sdm"), Some("sdm"), false).unwrap();
        check_reset(Some("postgres://bob@[::1]/sdm"), Some("sdm"), false).unwrap();
    }

    #[test]
    fn remote_host_needs_allow_remote_and_the_name() {
        let msg = refused("postgres://bob:pw@db.example.com/sdm", Some("sdm"), false);
        assert!(msg.contains("not on this machine") && msg.contains("--allow-remote --yes=sdm"), "{msg}");
        let msg = refused("postgres://bob:pw@10.1.2.3/sdm", None, true);
        assert!(msg.contains("--yes=sdm --allow-remote"), "{msg}");
        check_reset(Some("postgres://bob:pw@db.example.com/sdm"), Some("sdm"), true).unwrap();
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
            ("postgres://bob:hunter2@localhost/postgres", None, false),
        ] {
            let msg = refused(url, yes, remote);
            assert!(!msg.contains("hunter2"), "{msg}");
        }
    }
}
