//! The schema of a live database as its catalogs describe it: one normalised line per object
//! (table, column, constraint, index, sequence, view, function, trigger, type, policy, ...), so
//! two schemas can be compared object by object and each difference named.
//!
//! It reads `pg_catalog` only (no `pg_dump`), so it works wherever `sdm` runs. The migration
//! runner compares a database with the schema a squashed chain ended with before it moves the
//! database onto the squashed set, and `sdm check` compares it with the schema the migrations
//! should give (both recorded in files next to the migrations).

mod catalog;
mod versions;

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use postgres::GenericClient;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Result;

/// A database's schema: every object's kind and qualified name, with its normalised definition.
///
/// Keys read like `column public.users_account.email` or `index public.users_account_email_key`;
/// values are what the catalogs say about the object (`pg_get_constraintdef`, `pg_get_indexdef`,
/// a column's type, nullability, identity and default, ...). Owners and privileges are not part
/// of it, nor is the migration runner's history table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Definition by object, sorted by key.
    pub objects: BTreeMap<String, String>,
}

/// How an object of one schema differs from the other's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// The expected schema has the object; the database does not.
    Missing {
        /// The object's kind and name.
        object: String,
        /// Its expected definition.
        expected: String,
    },
    /// The database has an object the expected schema does not.
    Unexpected {
        /// The object's kind and name.
        object: String,
        /// Its definition in the database.
        found: String,
    },
    /// Both have the object, defined differently.
    Changed {
        /// The object's kind and name.
        object: String,
        /// Its expected definition.
        expected: String,
        /// Its definition in the database.
        found: String,
    },
}

impl Snapshot {
    /// Reads the schema of the database behind `client` from its catalogs.
    ///
    /// Works inside a transaction too, which then sees its own changes. Names are read with an
    /// empty search path, so every name outside `pg_catalog` is schema-qualified whatever the
    /// session's search path.
    ///
    /// ```no_run
    /// let mut client = migrator::db::connect("postgres://localhost/sdm")?;
    /// let schema = migrator::schema::Snapshot::read(&mut client)?;
    /// println!("{} objects, {}", schema.objects.len(), schema.hash());
    /// # Ok::<(), migrator::Error>(())
    /// ```
    pub fn read(client: &mut impl GenericClient) -> Result<Snapshot> {
        Snapshot::read_without(client, &[])
    }

    /// Reads the schema like [`Snapshot::read`], leaving out `tables` (found by name on the search
    /// path, as the tool that made them finds them) and the sequences they own: the history
    /// table of the tool a database was adopted from, which the runner leaves in place.
    pub fn read_without(client: &mut impl GenericClient, tables: &[&str]) -> Result<Snapshot> {
        let mut objects = BTreeMap::new();
        // Found wherever it is, as the runner finds it, whatever the search path.
        let mut names: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
        names.extend(crate::migrate::history_table(client)?);
        let history: Vec<u32> = client
            .query_one(
                "WITH t AS (SELECT pg_catalog.to_regclass(n)::oid AS oid FROM pg_catalog.unnest($1::text[]) n) \
                 SELECT coalesce(pg_catalog.array_agg(oid), '{}') FROM (SELECT oid FROM t WHERE oid IS NOT NULL \
                 UNION SELECT d.objid FROM pg_catalog.pg_depend d JOIN t ON d.refobjid = t.oid \
                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' \
                 AND d.objid IN (SELECT oid FROM pg_catalog.pg_class WHERE relkind = 'S')) o",
                &[&names],
            )?
            .get(0);
        // Dropped without a commit: the setting ends with it (a savepoint inside a transaction).
        let mut tx = client.transaction()?;
        tx.batch_execute("SET LOCAL search_path = pg_catalog")?;
        for row in tx.query(catalog::OBJECTS, &[&history])? {
            let (key, definition): (String, Option<String>) = (row.get(0), row.get(1));
            let definition = definition.unwrap_or_default();
            // Two objects under one key (a name used twice by kinds this key does not tell
            // apart) stay in the snapshot, both.
            objects
                .entry(key)
                .and_modify(|existing: &mut String| {
                    existing.push_str("\n-- and\n");
                    existing.push_str(&definition);
                })
                .or_insert(definition);
        }
        Ok(Snapshot { objects })
    }

    /// Returns a hex SHA-256 of every key and definition: equal snapshots, equal hashes.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        for (key, definition) in &self.objects {
            hasher.update((key.len() as u64).to_le_bytes());
            hasher.update(key.as_bytes());
            hasher.update((definition.len() as u64).to_le_bytes());
            hasher.update(definition.as_bytes());
        }
        let mut hex = String::with_capacity(64);
        for byte in hasher.finalize() {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }

    /// Returns how `found` differs from this, the expected schema, object by object in key order.
    ///
    /// What differs only in how a Postgres major stores or prints a fact (18's NOT NULL
    /// constraints, 16's unqualified view columns) is not a difference: a snapshot taken on one
    /// supported major compares equal with one of the same schema on any other.
    pub fn diff(&self, found: &Snapshot) -> Vec<Difference> {
        let mut differences = Vec::new();
        for (object, expected) in &self.objects {
            let Some(comparable) = versions::comparable(object, expected) else { continue };
            match found.objects.get(object) {
                None => differences.push(Difference::Missing { object: object.clone(), expected: expected.clone() }),
                Some(f) if versions::comparable(object, f).is_none_or(|f| f != comparable) => differences
                    .push(Difference::Changed { object: object.clone(), expected: expected.clone(), found: f.clone() }),
                Some(_) => {}
            }
        }
        for (object, f) in &found.objects {
            if !self.objects.contains_key(object) && versions::comparable(object, f).is_some() {
                differences.push(Difference::Unexpected { object: object.clone(), found: f.clone() });
            }
        }
        differences.sort_by(|a, b| a.object().cmp(b.object()));
        differences
    }
}

impl Difference {
    /// Returns the object's kind and name, e.g. `column public.users_account.email`.
    pub fn object(&self) -> &str {
        match self {
            Difference::Missing { object, .. }
            | Difference::Unexpected { object, .. }
            | Difference::Changed { object, .. } => object,
        }
    }
}

/// Definitions longer than this are cut in messages.
const SHOWN_CHARS: usize = 160;

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing { object, expected } => write!(f, "{object}: missing (expected `{}`)", shown(expected)),
            Difference::Unexpected { object, found } => write!(f, "{object}: not expected (found `{}`)", shown(found)),
            Difference::Changed { object, expected, found } => {
                let (expected, found) = first_difference(expected, found);
                write!(f, "{object}: expected `{}`, found `{}`", shown(expected), shown(found))
            }
        }
    }
}

/// Lists `differences` one per line under `indent`, the first `limit` of them, then how many more.
pub fn list_differences(differences: &[Difference], indent: &str, limit: usize) -> String {
    let mut out = String::new();
    for d in differences.iter().take(limit) {
        let _ = writeln!(out, "{indent}{d}");
    }
    if differences.len() > limit {
        let _ = writeln!(out, "{indent}... and {} more", differences.len() - limit);
    }
    out
}

/// Returns the first line where two multi-line definitions differ (whole texts for one-liners).
fn first_difference<'a>(expected: &'a str, found: &'a str) -> (&'a str, &'a str) {
    if !expected.contains('\n') && !found.contains('\n') {
        return (expected, found);
    }
    let (mut e, mut f) = (expected.lines(), found.lines());
    loop {
        match (e.next(), f.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (a, b) => return (a.unwrap_or("(end)"), b.unwrap_or("(end)")),
        }
    }
}

/// Returns `text` on one line, cut to [`SHOWN_CHARS`] characters.
fn shown(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= SHOWN_CHARS {
        return one_line;
    }
    let cut: String = one_line.chars().take(SHOWN_CHARS).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(objects: &[(&str, &str)]) -> Snapshot {
        Snapshot { objects: objects.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    #[test]
    fn names_each_object_that_differs() {
        let expected = snapshot(&[
            ("column public.a.id", "integer NOT NULL"),
            ("index public.a_pkey", "CREATE UNIQUE INDEX a_pkey ON public.a USING btree (id)"),
            ("table public.a", "columns id"),
        ]);
        let found = snapshot(&[
            ("column public.a.id", "bigint NOT NULL"),
            ("index public.a_extra", "CREATE INDEX a_extra ON public.a USING btree (id)"),
            ("table public.a", "columns id"),
        ]);
        let shown: Vec<String> = expected.diff(&found).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "column public.a.id: expected `integer NOT NULL`, found `bigint NOT NULL`",
                "index public.a_extra: not expected (found `CREATE INDEX a_extra ON public.a USING btree (id)`)",
                "index public.a_pkey: missing (expected `CREATE UNIQUE INDEX a_pkey ON public.a USING btree (id)`)",
            ]
        );
        assert!(expected.diff(&expected).is_empty());
        assert_ne!(expected.hash(), found.hash());
        assert_eq!(expected.hash(), expected.clone().hash());
    }

    #[test]
    fn shows_the_first_differing_line_of_a_long_definition() {
        let expected = snapshot(&[("function public.f()", "CREATE FUNCTION f()\n RETURNS int\nAS $$ SELECT 1 $$")]);
        let found = snapshot(&[("function public.f()", "CREATE FUNCTION f()\n RETURNS int\nAS $$ SELECT 2 $$")]);
        let diff = expected.diff(&found);
        assert_eq!(diff[0].to_string(), "function public.f(): expected `AS $$ SELECT 1 $$`, found `AS $$ SELECT 2 $$`");
        let listed = list_differences(&[diff[0].clone(), diff[0].clone()], "  ", 1);
        assert_eq!(listed.lines().count(), 2);
        assert!(listed.ends_with("  ... and 1 more\n"), "{listed}");
    }
}
