//! Template databases: a migration set applied once per server, then cloned for every test.
//!
//! A template is named by a key of its migration files' contents, so a changed migration gets a
//! new one, and of the role that builds it: a clone of another role's template would hold tables
//! its user cannot touch. One process builds it under an advisory lock while others wait; `VACUUM FULL` leaves
//! no dead catalog rows for every clone to copy. A builder drops the other sets' templates, so a
//! clone holds the same lock shared from its look-up to its `CREATE DATABASE`: no template goes
//! away under a clone of it.

use migrator::migrations::MigrationSet;

use crate::server::{drop_with, ident};
use crate::{Error, Result, Server};

/// Prefix of every template database's name; the rest is a key of the migration files.
pub const TEMPLATE_PREFIX: &str = "sdm_tpl_";

/// The advisory lock held while a template is built, so one process per server builds it.
pub const TEMPLATE_LOCK_KEY: i64 = 7262841903;

const IS_TEMPLATE: &str = "SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate";

impl Server {
    /// Returns the name of a template database migrated with `set`, building it on first use.
    pub fn template_for(&self, set: &MigrationSet) -> Result<String> {
        self.with_admin(|admin| self.template_with(admin, set))
    }

    /// Does [`Server::template_for`] on the administration connection `admin`.
    pub(crate) fn template_with(&self, admin: &mut postgres::Client, set: &MigrationSet) -> Result<String> {
        let name = template_name(set, self.role(admin)?);
        if is_built(admin, &name)? {
            return Ok(name);
        }
        // One builder per server; others wait here and then find it built.
        let lock = Error::sql(format!("lock template {name}"));
        admin.execute("SELECT pg_advisory_lock($1)", &[&TEMPLATE_LOCK_KEY]).map_err(lock)?;
        let result = self.build_template(admin, &name, set);
        let unlock = Error::sql(format!("unlock template {name}"));
        admin.execute("SELECT pg_advisory_unlock($1)", &[&TEMPLATE_LOCK_KEY]).map_err(unlock)?;
        result.map(|()| name)
    }

    /// Creates database `name` as a clone of `set`'s template, building the template first when
    /// it is missing (or was dropped meanwhile by a builder of another set).
    pub(crate) fn clone_template(&self, admin: &mut postgres::Client, set: &MigrationSet, name: &str) -> Result<()> {
        let template = template_name(set, self.role(admin)?);
        // FILE_COPY (Postgres 15+) copies the files instead of WAL-logging every block: with
        // fsync off that is the faster way to clone a template.
        let strategy = if self.has_file_copy(admin)? { " STRATEGY FILE_COPY" } else { "" };
        let sql = format!("CREATE DATABASE {} TEMPLATE {}{strategy}", ident(name), ident(&template));
        loop {
            // Never wait for the exclusive lock while holding the shared one: two clones would
            // deadlock.
            let lock = Error::sql(format!("lock template {template} to clone it"));
            admin.execute("SELECT pg_advisory_lock_shared($1)", &[&TEMPLATE_LOCK_KEY]).map_err(lock)?;
            let cloned = match is_built(admin, &template) {
                Ok(true) => {
                    admin.batch_execute(&sql).map(|()| true).map_err(Error::sql(format!("create database {name}")))
                }
                other => other,
            };
            let unlock = Error::sql(format!("unlock template {template}"));
            admin.execute("SELECT pg_advisory_unlock_shared($1)", &[&TEMPLATE_LOCK_KEY]).map_err(unlock)?;
            if cloned? {
                return Ok(());
            }
            self.template_with(admin, set)?;
        }
    }

    fn build_template(&self, admin: &mut postgres::Client, name: &str, set: &MigrationSet) -> Result<()> {
        if is_built(admin, name)? {
            return Ok(());
        }
        if self.is_ephemeral() {
            drop_other_templates(admin, name)?;
        }
        let building = format!("{name}_building");
        drop_with(admin, &building)?;
        let what = format!("build template {name}");
        admin.batch_execute(&format!("CREATE DATABASE {}", ident(&building))).map_err(Error::sql(what.clone()))?;
        {
            let mut client = migrator::db::connect(&self.url_for(&building))?;
            migrator::migrate::migrate(&mut client, set)?;
            // A chain of ALTERs leaves dead catalog rows; every clone would copy them.
            client.batch_execute("VACUUM FULL").map_err(Error::sql(format!("vacuum template {name}")))?;
        }
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {b} RENAME TO {n}; ALTER DATABASE {n} IS_TEMPLATE true; ALTER DATABASE {n} ALLOW_CONNECTIONS false",
                b = ident(&building),
                n = ident(name)
            ))
            .map_err(Error::sql(what))
    }
}

/// Returns the name of `set`'s template as built by `role`.
fn template_name(set: &MigrationSet, role: &str) -> String {
    format!("{TEMPLATE_PREFIX}{}_{:08x}", &set.content_hash()[..16], crate::cluster::fnv(role.as_bytes()) as u32)
}

fn is_built(admin: &mut postgres::Client, name: &str) -> Result<bool> {
    let row = admin.query_opt(IS_TEMPLATE, &[&name]).map_err(Error::sql(format!("look up template {name}")))?;
    Ok(row.is_some())
}

/// Drops this role's templates of other migration sets: dead weight on a throwaway cluster.
/// Other roles' templates are theirs to drop (a test role's go with it).
fn drop_other_templates(admin: &mut postgres::Client, keep: &str) -> Result<()> {
    let pattern = format!("{}%", TEMPLATE_PREFIX.replace('_', "\\_"));
    let stale = admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE $1 AND datname <> $2 \
             AND datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
            &[&pattern, &keep],
        )
        .map_err(Error::sql("list old templates"))?;
    for row in stale {
        let old: String = row.get(0);
        let sql = format!("ALTER DATABASE {} IS_TEMPLATE false", ident(&old));
        admin.batch_execute(&sql).map_err(Error::sql(format!("drop old template {old}")))?;
        drop_with(admin, &old)?;
    }
    Ok(())
}
