//! Reads the statements `pg_dump` prints apart from a table (identity, defaults, constraints,
//! sequences and their owners) into what `CREATE TABLE` can say itself.

use super::sql::{identifier, qualified_name, QualifiedName};

/// A statement about one table that can move inside its `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// `ALTER TABLE t ALTER COLUMN c ADD GENERATED ... AS IDENTITY (...)`: the clause to add to
    /// the column, with only the sequence options that differ from the defaults.
    Identity { table: QualifiedName, column: String, generated: String, options: Vec<String> },
    /// `ALTER TABLE ONLY t ALTER COLUMN c SET DEFAULT expression`.
    Default { table: QualifiedName, column: String, expression: String },
    /// `ALTER TABLE ONLY t ADD CONSTRAINT name definition`.
    Constraint { table: QualifiedName, name: String, printed_name: String, definition: String },
}

impl Member {
    /// Reads the SQL of a `SEQUENCE` (identity), `DEFAULT` or constraint entry.
    pub fn parse(kind: &str, sql: &str) -> Option<Member> {
        let sql = sql.trim();
        match kind {
            "SEQUENCE" => {
                let (table, rest) = table_prefix(sql, "ALTER TABLE ")?;
                let (column, rest) = identifier(rest.strip_prefix(" ALTER COLUMN ")?)?;
                let rest = rest.strip_prefix(" ADD ")?;
                let (generated, options) = rest.split_once(" (\n")?;
                let options = options.strip_suffix("\n);")?;
                if !generated.starts_with("GENERATED ") || !generated.ends_with(" AS IDENTITY") {
                    return None;
                }
                let options = sequence_options(options.lines())?;
                Some(Member::Identity { table, column, generated: generated.to_string(), options })
            }
            "DEFAULT" => {
                let (table, rest) = table_prefix(sql, "ALTER TABLE ONLY ")?;
                let (column, rest) = identifier(rest.strip_prefix(" ALTER COLUMN ")?)?;
                let expression = rest.strip_prefix(" SET DEFAULT ")?.strip_suffix(';')?;
                Some(Member::Default { table, column, expression: expression.to_string() })
            }
            "CONSTRAINT" | "CHECK CONSTRAINT" | "FK CONSTRAINT" => {
                let (table, rest) =
                    table_prefix(sql, "ALTER TABLE ONLY ").or_else(|| table_prefix(sql, "ALTER TABLE "))?;
                let rest = rest.strip_prefix("\n    ADD CONSTRAINT ")?;
                let (name, definition) = identifier(rest)?;
                let printed_name = rest[..rest.len() - definition.len()].to_string();
                let definition = definition.strip_prefix(' ')?.strip_suffix(';')?;
                // Postgres validates a constraint made with its table: `NOT VALID` must stay apart.
                if definition.ends_with(" NOT VALID") || definition.contains(';') {
                    return None;
                }
                Some(Member::Constraint { table, name, printed_name, definition: definition.to_string() })
            }
            _ => None,
        }
    }

    /// Returns the `(schema, name)` of the table the statement is about.
    pub fn table(&self) -> &QualifiedName {
        match self {
            Member::Identity { table, .. } | Member::Default { table, .. } | Member::Constraint { table, .. } => table,
        }
    }
}

/// A `CREATE SEQUENCE`, with only the options that differ from the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub schema: String,
    pub name: String,
    pub printed_name: String,
    pub options: Vec<String>,
}

impl Sequence {
    /// Reads the SQL of a `SEQUENCE` entry that creates a sequence.
    pub fn parse(sql: &str) -> Option<Sequence> {
        let rest = sql.trim().strip_prefix("CREATE SEQUENCE ")?;
        let (schema, name, after) = qualified_name(rest)?;
        let printed_name = rest[..rest.len() - after.len()].to_string();
        let options = after.strip_suffix(';')?;
        let options = sequence_options(options.lines().filter(|l| !l.trim().is_empty()))?;
        Some(Sequence { schema, name, printed_name, options })
    }

    /// Prints the statement on one line.
    pub fn render(&self) -> String {
        let options: String = self.options.iter().map(|o| format!(" {o}")).collect();
        format!("CREATE SEQUENCE {}{options};", self.printed_name)
    }
}

/// Reads `ALTER SEQUENCE s OWNED BY schema.table.column;` into the sequence and the column.
pub fn owned_by(sql: &str) -> Option<(QualifiedName, QualifiedName, String)> {
    let rest = sql.trim().strip_prefix("ALTER SEQUENCE ")?;
    let (seq_schema, seq_name, rest) = qualified_name(rest)?;
    let (schema, table, rest) = qualified_name(rest.strip_prefix(" OWNED BY ")?)?;
    let (column, rest) = identifier(rest.strip_prefix('.')?)?;
    (rest == ";").then_some(((seq_schema, seq_name), (schema, table), column))
}

/// Returns the table after `prefix` and the text after the table.
fn table_prefix<'a>(sql: &'a str, prefix: &str) -> Option<(QualifiedName, &'a str)> {
    let (schema, name, rest) = qualified_name(sql.strip_prefix(prefix)?)?;
    Some(((schema, name), rest))
}

/// Returns the sequence options among `lines` that differ from what Postgres picks by itself
/// (ascending by 1 from 1, no bounds of its own, cache 1), each trimmed.
fn sequence_options<'a>(lines: impl Iterator<Item = &'a str>) -> Option<Vec<String>> {
    let options: Vec<&str> = lines.map(str::trim).filter(|l| !l.is_empty()).collect();
    let ascending = !options.iter().any(|o| o.starts_with("INCREMENT BY -"));
    let from_minimum = options.contains(&"NO MINVALUE");
    let mut kept = Vec::new();
    for option in options {
        let default = matches!(option, "INCREMENT BY 1" | "NO MINVALUE" | "NO MAXVALUE" | "CACHE 1")
            || (option == "START WITH 1" && ascending && from_minimum);
        if !default {
            kept.push(option.to_string());
        }
    }
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> QualifiedName {
        ("public".to_string(), name.to_string())
    }

    #[test]
    fn reads_identity_defaults_and_constraints() {
        let identity = "ALTER TABLE public.a ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (\n    SEQUENCE NAME public.a_id_seq\n    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1\n);";
        assert_eq!(
            Member::parse("SEQUENCE", identity),
            Some(Member::Identity {
                table: t("a"),
                column: "id".into(),
                generated: "GENERATED BY DEFAULT AS IDENTITY".into(),
                options: vec!["SEQUENCE NAME public.a_id_seq".into()],
            })
        );
        assert_eq!(
            Member::parse(
                "DEFAULT",
                "ALTER TABLE ONLY public.a ALTER COLUMN id SET DEFAULT nextval('public.a_id_seq'::regclass);"
            ),
            Some(Member::Default {
                table: t("a"),
                column: "id".into(),
                expression: "nextval('public.a_id_seq'::regclass)".into()
            })
        );
        let fk = "ALTER TABLE ONLY public.\"B\"\n    ADD CONSTRAINT \"B_a_fkey\" FOREIGN KEY (a) REFERENCES public.a(id) ON DELETE CASCADE;";
        assert_eq!(
            Member::parse("FK CONSTRAINT", fk),
            Some(Member::Constraint {
                table: t("B"),
                name: "B_a_fkey".into(),
                printed_name: "\"B_a_fkey\"".into(),
                definition: "FOREIGN KEY (a) REFERENCES public.a(id) ON DELETE CASCADE".into(),
            })
        );
        let not_valid = "ALTER TABLE public.a\n    ADD CONSTRAINT a_check CHECK ((id > 0)) NOT VALID;";
        assert_eq!(Member::parse("CHECK CONSTRAINT", not_valid), None);
    }

    #[test]
    fn keeps_only_sequence_options_that_differ_from_the_defaults() {
        let sequence = Sequence::parse("CREATE SEQUENCE public.s\n    AS integer\n    START WITH 100\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;").unwrap();
        assert_eq!(sequence.options, ["AS integer", "START WITH 100"]);
        assert_eq!(sequence.render(), "CREATE SEQUENCE public.s AS integer START WITH 100;");
        let down = Sequence::parse("CREATE SEQUENCE public.d\n    START WITH -1\n    INCREMENT BY -1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;").unwrap();
        assert_eq!(down.options, ["START WITH -1", "INCREMENT BY -1"]);
        assert_eq!(
            owned_by("ALTER SEQUENCE public.s OWNED BY public.\"T\".id;"),
            Some((t("s"), t("T"), "id".to_string()))
        );
    }
}
