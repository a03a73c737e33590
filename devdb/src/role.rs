//! Roles made for one test: a login role with CREATEDB that is not a superuser (what managed
//! Postgres and CI services hand out), owning a database of its own, dropped with the value.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

use migrator::conninfo::with_param;

use crate::server::ident;
use crate::{Error, Result, Server};

/// Prefix of every test role's name (and of its database's).
pub const ROLE_PREFIX: &str = "sdm_role_";

/// A role that exists for one test, with the database it owns; both are dropped with this value.
pub struct TestRole<'a> {
    server: &'a Server,
    name: String,
    password: String,
}

impl TestRole<'_> {
    /// Returns the role's name, which is also the name of the database it owns.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the URL of database `db` on the same server, connecting as this role.
    pub fn url_for(&self, db: &str) -> String {
        let url = with_param(&self.server.url_for(db), "user", &self.name);
        with_param(&url, "password", &self.password)
    }

    /// Returns the URL of the role's own database.
    pub fn url(&self) -> String {
        self.url_for(&self.name)
    }

    /// Returns the server as this role sees it: its main database is the role's own.
    pub fn server(&self) -> Server {
        Server::external(self.url())
    }
}

impl Drop for TestRole<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.server.drop_role(&self.name) {
            eprintln!("warning: could not drop role {}: {}", self.name, migrator::db::with_sources(&e));
        }
    }
}

impl Server {
    /// Creates a role with LOGIN and CREATEDB but not SUPERUSER, with a random password, and a
    /// database of the same name that it owns (on Postgres 15 the owner alone may create in its
    /// schema `public`). Needs a connection that may create roles.
    pub fn test_role(&self) -> Result<TestRole<'_>> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!("{ROLE_PREFIX}{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let password = random_password()?;
        let role = TestRole { server: self, name, password };
        let sql = format!(
            "CREATE ROLE {r} LOGIN CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD {p}; CREATE DATABASE {r} OWNER {r}",
            r = ident(&role.name),
            p = migrator::sql::quote_literal(&role.password)
        );
        for statement in sql.split("; ") {
            // One statement per call: CREATE DATABASE refuses to run inside a multi-statement batch.
            self.with_admin(|admin| {
                admin.batch_execute(statement).map_err(Error::sql(format!("create test role {}", role.name)))
            })?;
        }
        Ok(role)
    }

    /// Drops the databases role `name` owns, what it owns or was granted elsewhere, and the role.
    fn drop_role(&self, name: &str) -> Result<()> {
        let what = format!("drop test role {name}");
        let owned: Vec<(String, bool)> = self.with_admin(|admin| {
            let rows = admin
                .query(
                    "SELECT d.datname::text, d.datistemplate FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba \
                     WHERE r.rolname = $1",
                    &[&name],
                )
                .map_err(Error::sql(what.clone()))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })?;
        for (db, is_template) in owned {
            if is_template {
                // A template database cannot be dropped.
                let sql = format!("ALTER DATABASE {} IS_TEMPLATE false", ident(&db));
                self.with_admin(|admin| admin.batch_execute(&sql).map_err(Error::sql(what.clone())))?;
            }
            self.drop_database(&db)?;
        }
        self.with_admin(|admin| {
            let sql = format!("DROP OWNED BY {r}; DROP ROLE {r}", r = ident(name));
            admin.batch_execute(&sql).map_err(Error::sql(what))
        })
    }
}

/// Returns 24 random letters and digits from the operating system.
fn random_password() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 24];
    let path = "/dev/urandom";
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut bytes)).map_err(|e| Error::io(path, e))?;
    Ok(bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
}
