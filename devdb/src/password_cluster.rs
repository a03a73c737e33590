//! A throwaway cluster that checks passwords, for the tests of password sources: `scram-sha-256`
//! over TCP on 127.0.0.1, trust on its own socket (for setting it up), one role with a password.
//! The shared ephemeral cluster trusts every local connection, so a password sent wrong or not
//! at all would go unnoticed there.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::binaries::{chown_to_postgres, server_command};
use crate::{Error, Result};

/// A cluster of the caller's own; stopped and removed on drop.
pub struct PasswordCluster {
    dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    role: String,
    password: String,
}

impl PasswordCluster {
    /// Initialises and starts a cluster with the binaries of `bin_dir`, and creates `role` (with
    /// `password`, `CREATEDB`) and its database of the same name. Takes about 2 s.
    pub fn start(bin_dir: &Path, role: &str, password: &str) -> Result<PasswordCluster> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = crate::ram::scratch_root().join(format!(
            "sdm-scram-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        // As root the server runs as `postgres`, which must own its folders.
        chown_to_postgres(&dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Error::io(Path::new("127.0.0.1:0"), e))?
            .port();
        let cluster = PasswordCluster {
            dir,
            bin_dir: bin_dir.to_path_buf(),
            port,
            role: role.to_string(),
            password: password.to_string(),
        };
        let data = cluster.dir.join("data");
        let args =
            ["-U", "postgres", "-A", "trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"];
        crate::initdb::initdb(bin_dir, &data, &args)?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c password_encryption=scram-sha-256",
            cluster.dir.display()
        );
        let mut start = server_command(bin_dir, "pg_ctl");
        start.arg("-D").arg(&data).arg("-l").arg(cluster.dir.join("log")).args(["-w", "-o", &options, "start"]);
        crate::binaries::run(start, "start postgres (password cluster)", "")?;
        let admin = format!("host={} port={port} user=postgres dbname=postgres", cluster.dir.display());
        let mut client = migrator::db::connect(&admin)?;
        let role_sql = format!(
            "CREATE ROLE {} LOGIN CREATEDB PASSWORD {}",
            crate::server::ident(role),
            migrator::sql::quote_literal(password)
        );
        client.batch_execute(&role_sql).map_err(Error::sql(format!("create role {role}")))?;
        let db_sql = format!("CREATE DATABASE {0} OWNER {0}", crate::server::ident(role));
        client.batch_execute(&db_sql).map_err(Error::sql(format!("create database {role}")))?;
        Ok(cluster)
    }

    /// The TCP port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of the role's database over TCP, without a password.
    pub fn url(&self) -> String {
        format!("postgres://{}@127.0.0.1:{}/{}", self.role, self.port, self.role)
    }

    /// The role's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// A folder of the cluster's that tests may write their files in (removed with it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PasswordCluster {
    fn drop(&mut self) {
        let mut stop = server_command(&self.bin_dir, "pg_ctl");
        stop.arg("-D").arg(self.dir.join("data")).args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
