//! Schemas as `pg_dump --schema-only` prints them: one normal form and one meaning of "the same".
//!
//! Verify compares the LangGraph tables with the Python library's, the squash proof compares the
//! new set's schema with the old chain's, and the interop tests compare before and after Python's
//! `setup()`: all through [`Schema`].

use std::fmt;
use std::process::Command;

use crate::{binaries, line_diff, Error, Result, Server};

/// The flags of every dump: owners follow the role that ran the migrations, not them.
const DUMP_FLAGS: &[&str] = &["--schema-only", "--no-owner"];

/// Whether a dump holds the objects' grants and default privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privileges {
    /// Left out: grants follow the roles of a cluster, not the migrations (`--no-privileges`).
    Omitted,
    /// Compared too: `GRANT`, `REVOKE` and `ALTER DEFAULT PRIVILEGES` are part of the schema.
    Included,
}

/// Lines of a schema diff shown before it is cut.
const MAX_DIFF_LINES: usize = 400;

/// Settings pg_dump writes, when they change, before the objects they apply to: they belong to
/// the schema (a table's tablespace and access method). Each with its value when not set and the
/// kinds of object it applies to.
const OBJECT_SETTINGS: &[(&str, &str, &[&str])] = &[
    ("default_tablespace", "''", &["TABLE", "MATERIALIZED VIEW", "INDEX", "CONSTRAINT"]),
    ("default_table_access_method", "heap", &["TABLE", "MATERIALIZED VIEW"]),
];

/// A schema as `pg_dump --schema-only` prints it, reduced to its statements, object by object.
///
/// Left out, as they differ between two dumps of one schema by other roles, servers or pg_dump
/// versions: pg_dump's comment headers and version lines, blank lines around objects, session
/// settings (`SET ...`, `set_config`), the random `\restrict` key of pg_dump 15.14+, and
/// `ALTER ... OWNER TO`. Grants (when dumped, see [`Privileges`]) are kept, with the
/// `SET SESSION AUTHORIZATION` that names a grant's grantor. A tablespace or table access method other than the default is kept, as
/// a `SET` line at the start of each object made with it. Two schemas are equal when they hold
/// the same objects in any order: pg_dump breaks ties between objects of one name by OID, so
/// equal schemas may list them differently.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Each object's statements, in dump order.
    objects: Vec<String>,
    /// Each object's name, as [`object_name`] reads pg_dump's header (`TABLE public.account`).
    names: Vec<String>,
}

/// How an object differs between two schemas (see [`Schema::differing_objects`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Both schemas have it, with other statements.
    Differs,
    /// Only the first schema has it.
    Missing,
    /// Only the second schema has it.
    Added,
}

/// An object that differs between two schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDifference {
    /// The object, as [`object_name`] reads pg_dump's header (`INDEX public.account_email`).
    pub name: String,
    /// How it differs.
    pub change: Change,
}

impl Schema {
    /// Normalises the text of a dump (pg_dump's output, or a file it wrote).
    pub fn parse(dump: &str) -> Schema {
        let lines: Vec<&str> = dump.lines().collect();
        let mut settings: Vec<&str> = OBJECT_SETTINGS.iter().map(|(_, default, _)| *default).collect();
        let mut objects = Vec::new();
        let mut names = Vec::new();
        let mut name = String::new();
        let mut object = Object::default();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            // pg_dump's headers are three lines: `--`, `-- Name: ...; Type: ...`, `--`.
            if line == "--" && lines.get(i + 2) == Some(&"--") && lines[i + 1].starts_with("-- ") {
                if let Some(text) = object.end() {
                    objects.push(text);
                    names.push(std::mem::take(&mut name));
                }
                name = object_name(&lines[i + 1][3..]);
                let kind = lines[i + 1].split("; Type: ").nth(1).and_then(|rest| rest.split(';').next());
                for ((name, default, kinds), value) in OBJECT_SETTINGS.iter().zip(&settings) {
                    if value != default && kind.is_some_and(|k| kinds.contains(&k)) {
                        object.settings.push(format!("SET {name} = {value};"));
                    }
                }
                i += 3;
                continue;
            }
            i += 1;
            if let Some((k, value)) = object_setting(line) {
                settings[k] = value;
            } else if !is_noise(line) {
                object.lines.push(line);
            }
        }
        if let Some(text) = object.end() {
            objects.push(text);
            names.push(name);
        }
        Schema { objects, names }
    }

    /// Dumps database `db` on `server` with the server's own `pg_dump`, without grants: only
    /// `tables` (in schema `public`) unless that is empty.
    pub fn dump(server: &Server, db: &str, tables: &[&str]) -> Result<Schema> {
        Schema::dump_with(server, db, tables, Privileges::Omitted)
    }

    /// Dumps like [`Schema::dump`], with or without the objects' grants.
    pub fn dump_with(server: &Server, db: &str, tables: &[&str], privileges: Privileges) -> Result<Schema> {
        let url = server.url_for(db);
        let mut cmd = Command::new(server.bin("pg_dump")?);
        cmd.args(DUMP_FLAGS);
        if privileges == Privileges::Omitted {
            cmd.arg("--no-privileges");
        }
        for table in tables {
            cmd.arg("--table").arg(format!("public.{table}"));
        }
        // The password goes in the child's environment: a command line is visible to every user.
        let (conninfo, password) = migrator::conninfo::without_password(&url);
        cmd.arg("--dbname").arg(conninfo);
        if let Some(password) = password {
            cmd.env("PGPASSWORD", password);
        }
        let what = format!("pg_dump --schema-only of database {db}");
        let out = binaries::run(cmd, &what, &url)?;
        let text = String::from_utf8(out).map_err(|source| Error::NotText { what, source })?;
        Ok(Schema::parse(&text))
    }

    /// Returns the normalised text: the objects' statements, a blank line between objects.
    pub fn text(&self) -> String {
        self.objects.iter().map(|o| format!("{o}\n")).collect::<Vec<_>>().join("\n")
    }

    /// Returns `None` when `other` is the same schema, else a line diff of the two (`-` this one,
    /// `+` the other), cut after 400 lines.
    pub fn diff(&self, other: &Schema) -> Option<String> {
        if self == other {
            return None;
        }
        Some(line_diff(&self.text(), &other.text(), MAX_DIFF_LINES).unwrap_or_default())
    }

    /// Returns the objects that differ between this schema and `other`, by name, in name order:
    /// those whose statements differ, those only this one has ([`Change::Missing`]) and those
    /// only `other` has ([`Change::Added`]).
    pub fn differing_objects(&self, other: &Schema) -> Vec<ObjectDifference> {
        let mut by_name: std::collections::BTreeMap<&str, (Vec<&str>, Vec<&str>)> = Default::default();
        for (name, text) in self.names.iter().zip(&self.objects) {
            by_name.entry(name).or_default().0.push(text);
        }
        for (name, text) in other.names.iter().zip(&other.objects) {
            by_name.entry(name).or_default().1.push(text);
        }
        by_name
            .into_iter()
            .filter_map(|(name, (mut mine, mut theirs))| {
                mine.sort_unstable();
                theirs.sort_unstable();
                let change = match (mine.is_empty(), theirs.is_empty()) {
                    _ if mine == theirs => return None,
                    (false, true) => Change::Missing,
                    (true, false) => Change::Added,
                    _ => Change::Differs,
                };
                Some(ObjectDifference { name: name.to_string(), change })
            })
            .collect()
    }
}

/// Reads pg_dump's header `Name: n; Type: T; Schema: s; Owner: o` as `T s.n`; an object that
/// belongs to a table (`Name: account account_pkey`) as `T account_pkey on s.account`, and a
/// comment or grant as `T on ...` (`COMMENT on COLUMN account.email`).
fn object_name(header: &str) -> String {
    let field = |key: &str| header.split("; ").find_map(|part| part.strip_prefix(key));
    let (Some(name), Some(kind)) = (header.strip_prefix("Name: ").and_then(|h| h.split("; ").next()), field("Type: "))
    else {
        return header.to_string();
    };
    let schema = field("Schema: ").filter(|s| *s != "-");
    let qualified = |n: &str| schema.map_or_else(|| n.to_string(), |s| format!("{s}.{n}"));
    match (kind, name.split_once(' ')) {
        ("COMMENT" | "ACL" | "DEFAULT ACL", _) => format!("{kind} on {name}"),
        (_, Some((table, member))) => format!("{kind} {member} on {}", qualified(table)),
        _ => format!("{kind} {}", qualified(name)),
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        if self.objects == other.objects {
            return true;
        }
        sorted(&self.objects) == sorted(&other.objects)
    }
}

fn sorted(objects: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = objects.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted
}

impl Eq for Schema {}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// Whether a dump line says nothing about the schema.
fn is_noise(line: &str) -> bool {
    line.starts_with("-- Dumped from database version")
        || line.starts_with("-- Dumped by pg_dump version")
        || line.starts_with("\\restrict ")
        || line.starts_with("\\unrestrict ")
        // Which role granted a privilege is part of the grant; other settings are the session's.
        || (line.starts_with("SET ") && !line.starts_with("SET SESSION AUTHORIZATION "))
        || line.starts_with("SELECT pg_catalog.set_config(")
        || (line.starts_with("ALTER ") && line.contains(" OWNER TO "))
}

/// Returns which of [`OBJECT_SETTINGS`] a `SET` line changes, and to what.
fn object_setting(line: &str) -> Option<(usize, &str)> {
    let (name, value) = line.strip_prefix("SET ")?.strip_suffix(';')?.split_once(" = ")?;
    Some((OBJECT_SETTINGS.iter().position(|(known, _, _)| *known == name)?, value))
}

/// The object being read: the settings it was made with, and its lines.
#[derive(Default)]
struct Object<'a> {
    settings: Vec<String>,
    lines: Vec<&'a str>,
}

impl Object<'_> {
    /// Ends the object: its settings and lines without the blank ones around them, unless it has none.
    fn end(&mut self) -> Option<String> {
        let start = self.lines.iter().position(|l| !l.trim().is_empty());
        let end = self.lines.iter().rposition(|l| !l.trim().is_empty());
        let text = match (start, end) {
            (Some(start), Some(end)) => Some(
                self.settings
                    .iter()
                    .map(String::as_str)
                    .chain(self.lines[start..=end].iter().copied())
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            _ => None,
        };
        self.settings.clear();
        self.lines.clear();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n-- Dumped from database version 15.1\n-- Dumped by pg_dump version 15.1\n\nSET lock_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\nSET default_table_access_method = heap;\n\n--\n-- Name: a; Type: TABLE; Schema: public; Owner: postgres\n--\n\nCREATE TABLE public.a (\n    id integer\n);\n\n\nALTER TABLE public.a OWNER TO postgres;\n\n--\n-- Name: b; Type: FUNCTION; Schema: public; Owner: -\n--\n\nCREATE FUNCTION public.b() RETURNS integer\n    LANGUAGE sql\n    AS $$\n-- a comment in the body stays\n\nSELECT 1\n$$;\n\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n";

    #[test]
    fn parsing_drops_noise_but_keeps_statements() {
        assert_eq!(
            Schema::parse(DUMP).text(),
            "CREATE TABLE public.a (\n    id integer\n);\n\nCREATE FUNCTION public.b() RETURNS integer\n    LANGUAGE sql\n    AS $$\n-- a comment in the body stays\n\nSELECT 1\n$$;\n"
        );
    }

    #[test]
    fn objects_in_another_order_are_the_same_schema() {
        let a = "--\n-- Name: x; Type: INDEX\n--\n\nCREATE INDEX x ON t (a);\n\n--\n-- Name: x; Type: INDEX\n--\n\nCREATE INDEX x ON u (a);\n";
        let b = "--\n-- Name: x; Type: INDEX\n--\n\nCREATE INDEX x ON u (a);\n\n--\n-- Name: x; Type: INDEX\n--\n\nCREATE INDEX x ON t (a);\n";
        assert_eq!(Schema::parse(a), Schema::parse(b));
        assert_eq!(Schema::parse(a).diff(&Schema::parse(b)), None);
    }

    #[test]
    fn a_table_access_method_other_than_heap_is_part_of_the_schema() {
        let other =
            DUMP.replace("SET default_table_access_method = heap;", "SET default_table_access_method = columnar;");
        let diff = Schema::parse(DUMP).diff(&Schema::parse(&other)).expect("the access method differs");
        assert!(diff.contains("+SET default_table_access_method = columnar;\n CREATE TABLE public.a ("), "{diff}");
    }

    #[test]
    fn grants_and_their_grantors_are_part_of_the_schema() {
        let grants = format!(
            "{DUMP}\n--\n-- Name: TABLE a; Type: ACL; Schema: public; Owner: -\n--\n\nGRANT SELECT ON TABLE public.a TO reader;\n\
             SET SESSION AUTHORIZATION granter;\nGRANT SELECT ON TABLE public.a TO writer;\nRESET SESSION AUTHORIZATION;\n"
        );
        let text = Schema::parse(&grants).text();
        assert!(text.ends_with("GRANT SELECT ON TABLE public.a TO reader;\nSET SESSION AUTHORIZATION granter;\nGRANT SELECT ON TABLE public.a TO writer;\nRESET SESSION AUTHORIZATION;\n"), "{text}");
        assert_ne!(Schema::parse(&grants), Schema::parse(&grants.replace("TO reader", "TO other")));
    }

    #[test]
    fn differing_objects_are_named() {
        let object = |header: &str, sql: &str| format!("--\n-- Name: {header}; Owner: -\n--\n\n{sql}\n\n");
        let old = [
            object("account; Type: TABLE; Schema: public", "CREATE TABLE public.account (id integer);"),
            object(
                "account account_pkey; Type: CONSTRAINT; Schema: public",
                "ALTER TABLE public.account ADD PRIMARY KEY (id);",
            ),
            object("COLUMN account.id; Type: COMMENT; Schema: public", "COMMENT ON COLUMN public.account.id IS 'x';"),
            object("same; Type: VIEW; Schema: public", "CREATE VIEW public.same AS SELECT 1;"),
        ]
        .concat();
        let new = [
            object("account; Type: TABLE; Schema: public", "CREATE TABLE public.account (id bigint);"),
            object("COLUMN account.id; Type: COMMENT; Schema: public", "COMMENT ON COLUMN public.account.id IS 'x';"),
            object("same; Type: VIEW; Schema: public", "CREATE VIEW public.same AS SELECT 1;"),
            object("extra; Type: SCHEMA; Schema: -", "CREATE SCHEMA extra;"),
        ]
        .concat();
        let named: Vec<(String, Change)> = Schema::parse(&old)
            .differing_objects(&Schema::parse(&new))
            .into_iter()
            .map(|d| (d.name, d.change))
            .collect();
        assert_eq!(
            named,
            [
                ("CONSTRAINT account_pkey on public.account".to_string(), Change::Missing),
                ("SCHEMA extra".to_string(), Change::Added),
                ("TABLE public.account".to_string(), Change::Differs),
            ]
        );
        assert!(Schema::parse(&old).differing_objects(&Schema::parse(&old)).is_empty());
    }

    #[test]
    fn a_changed_statement_is_shown() {
        let changed = DUMP.replace("id integer", "id bigint");
        let diff = Schema::parse(DUMP).diff(&Schema::parse(&changed)).expect("the schemas differ");
        assert!(diff.contains("-    id integer\n+    id bigint\n"), "{diff}");
    }
}
