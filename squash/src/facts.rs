//! What the old chain's catalog says where `pg_dump`'s text alone cannot: which constraint
//! names Postgres would choose by itself, which inherited columns have no default, and which
//! role ran the chain. Shaping reads these to print less without changing what is built.

use std::collections::{HashMap, HashSet};

use postgres::Client;

/// Catalog facts of the database the chain built.
#[derive(Debug, Default)]
pub struct Facts {
    /// Constraints on tables by `(schema, table, name)`, as stored (unquoted).
    pub constraints: HashMap<(String, String, String), Constraint>,
    /// Inherited columns with no default of their own, by `(schema, table, column)`.
    pub inherited_without_default: HashSet<(String, String, String)>,
    /// The role that replayed the chain, which owns everything it made.
    pub role: String,
}

/// A table constraint as the catalog holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// Its columns (`conkey`), in order: the key's columns, or those a check reads.
    pub columns: Vec<String>,
    /// Whether no other constraint in its schema has its name (Postgres picks a default name
    /// that is unused in the schema, so only then is the default name sure to be this one).
    pub unique_in_schema: bool,
}

/// Longest name Postgres stores without cutting it (NAMEDATALEN - 1 bytes).
const MAX_NAME: usize = 63;

impl Facts {
    /// Reads the facts from the database behind `client`.
    pub fn read(client: &mut Client) -> anyhow::Result<Facts> {
        let mut facts = Facts { role: client.query_one("SELECT current_user::text", &[])?.get(0), ..Facts::default() };
        for row in client.query(
            "SELECT n.nspname::text, r.relname::text, c.conname::text,
                    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(num, ord)
                            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
                           ORDER BY k.ord),
                    (SELECT count(*) FROM pg_catalog.pg_constraint o
                      WHERE o.connamespace = c.connamespace AND o.conname = c.conname) = 1
               FROM pg_catalog.pg_constraint c
               JOIN pg_catalog.pg_class r ON r.oid = c.conrelid
               JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )? {
            facts.constraints.insert(
                (row.get(0), row.get(1), row.get(2)),
                Constraint { columns: row.get(3), unique_in_schema: row.get(4) },
            );
        }
        for row in client.query(
            "SELECT n.nspname::text, r.relname::text, a.attname::text
               FROM pg_catalog.pg_attribute a
               JOIN pg_catalog.pg_class r ON r.oid = a.attrelid
               JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
              WHERE a.attinhcount > 0 AND NOT a.atthasdef AND a.attnum > 0 AND NOT a.attisdropped",
            &[],
        )? {
            facts.inherited_without_default.insert((row.get(0), row.get(1), row.get(2)));
        }
        Ok(facts)
    }

    /// Whether Postgres, given no name, would name constraint `name` of `schema.table` just so:
    /// `<table>_pkey`, `<table>_<columns>_key`, `<table>_<columns>_fkey`, `<table>_<column>_check`
    /// (a check reading one column) or `<table>_check`, by `kind`.
    pub fn has_default_name(&self, schema: &str, table: &str, name: &str, kind: ConstraintKind) -> bool {
        let Some(constraint) = self.constraints.get(&(schema.to_string(), table.to_string(), name.to_string())) else {
            return false;
        };
        let columns = constraint.columns.join("_");
        let expected = match kind {
            ConstraintKind::PrimaryKey => format!("{table}_pkey"),
            ConstraintKind::Unique => format!("{table}_{columns}_key"),
            ConstraintKind::ForeignKey => format!("{table}_{columns}_fkey"),
            ConstraintKind::Check if constraint.columns.len() == 1 => format!("{table}_{columns}_check"),
            ConstraintKind::Check => format!("{table}_check"),
        };
        constraint.unique_in_schema && expected == name && expected.len() <= MAX_NAME
    }

    /// Returns the columns of constraint `name` of `schema.table`.
    pub fn constraint_columns(&self, schema: &str, table: &str, name: &str) -> Option<&[String]> {
        self.constraints.get(&(schema.to_string(), table.to_string(), name.to_string())).map(|c| c.columns.as_slice())
    }
}

/// The constraints whose default names [`Facts::has_default_name`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
}

/// Whether Postgres would name the sequence of identity or serial column `column` of `table`
/// `sequence` by itself (`<table>_<column>_seq`, uncut).
pub fn is_default_sequence_name(table: &str, column: &str, sequence: &str) -> bool {
    let expected = format!("{table}_{column}_seq");
    expected == sequence && expected.len() <= MAX_NAME
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str, columns: &[&str], unique_in_schema: bool) -> Facts {
        let mut facts = Facts::default();
        facts.constraints.insert(
            ("public".into(), "t".into(), name.into()),
            Constraint { columns: columns.iter().map(|c| c.to_string()).collect(), unique_in_schema },
        );
        facts
    }

    #[test]
    fn knows_the_names_postgres_picks() {
        assert!(facts("t_pkey", &["id"], true).has_default_name("public", "t", "t_pkey", ConstraintKind::PrimaryKey));
        assert!(facts("t_a_b_key", &["a", "b"], true).has_default_name(
            "public",
            "t",
            "t_a_b_key",
            ConstraintKind::Unique
        ));
        assert!(facts("t_a_check", &["a"], true).has_default_name("public", "t", "t_a_check", ConstraintKind::Check));
        assert!(facts("t_check", &["a", "b"], true).has_default_name("public", "t", "t_check", ConstraintKind::Check));
        assert!(!facts("t_check", &["a"], true).has_default_name("public", "t", "t_check", ConstraintKind::Check));
        // Another constraint in the schema has the name: Postgres would pick `t_pkey1`.
        assert!(!facts("t_pkey", &["id"], false).has_default_name("public", "t", "t_pkey", ConstraintKind::PrimaryKey));
        assert!(!facts("x_pkey", &["id"], true).has_default_name("public", "t", "x_pkey", ConstraintKind::PrimaryKey));
        assert!(is_default_sequence_name("t", "id", "t_id_seq"));
        assert!(!is_default_sequence_name(&"t".repeat(60), "id", &format!("{}_id_seq", "t".repeat(60))));
    }
}
