//! One `CREATE TABLE` as `pg_dump` prints it, taken apart so that what pg_dump prints as separate
//! statements (identity, serial sequences, keys, checks) can be written inside it, and put back.

use super::sql::{closing_paren, identifier, qualified_name, split_top_level};

/// A table's `CREATE TABLE` statement, with the statements pg_dump prints after it in its entry.
#[derive(Debug, Clone)]
pub struct Table {
    /// Schema and name, as stored.
    pub schema: String,
    pub name: String,
    /// `CREATE TABLE public.t` (or `CREATE UNLOGGED TABLE ...`), up to the column list.
    head: String,
    pub columns: Vec<Column>,
    /// Table constraints, each as it reads inside the statement.
    constraints: Vec<String>,
    /// What follows the column list (`INHERITS (...)`, `PARTITION BY ...`, `WITH (...)`).
    tail: String,
    /// The entry's statements after `CREATE TABLE`, as printed.
    pub after: Vec<String>,
}

/// A column of a [`Table`].
#[derive(Debug, Clone)]
pub struct Column {
    /// The name as stored, and as printed.
    pub name: String,
    pub printed: String,
    /// Type and options: `bigint DEFAULT 0 NOT NULL`.
    pub definition: String,
}

impl Table {
    /// Reads the statements of a `TABLE` entry; `None` if they do not start with a `CREATE TABLE`
    /// of the usual form (a typed table, say), which is then left as it is.
    pub fn parse(sql: &str) -> Option<Table> {
        let statements = statements(sql);
        let (create, after) = statements.split_first()?;
        let rest = create.strip_prefix("CREATE ")?;
        let (modifier, rest) = match rest.strip_prefix("UNLOGGED ") {
            Some(rest) => ("UNLOGGED ", rest),
            None => ("", rest),
        };
        let rest = rest.strip_prefix("TABLE ")?;
        let (schema, name, after_name) = qualified_name(rest)?;
        let after_name = after_name.strip_prefix(' ')?;
        if !after_name.starts_with('(') {
            return None;
        }
        let open = create.len() - after_name.len();
        let close = closing_paren(create, open)?;
        let head = format!("CREATE {modifier}TABLE {}", &rest[..rest.len() - after_name.len() - 1]);
        let mut columns = Vec::new();
        let mut constraints = Vec::new();
        for element in split_top_level(&create[open + 1..close], b',') {
            let element = element.trim();
            if element.is_empty() {
                continue;
            }
            if element.starts_with("CONSTRAINT ") {
                constraints.push(element.to_string());
                continue;
            }
            let (column, definition) = identifier(element)?;
            let printed = element[..element.len() - definition.len()].to_string();
            columns.push(Column { name: column, printed, definition: definition.trim_start().to_string() });
        }
        let tail = create[close + 1..].trim_end_matches(';').to_string();
        Some(Table {
            schema,
            name,
            head,
            columns,
            constraints,
            tail,
            after: after.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Returns the table's name as printed (`public.t`).
    pub fn printed_name(&self) -> &str {
        self.head.rsplit(' ').next().unwrap_or("")
    }

    /// Whether the table inherits from another: what pg_dump prints separately for it then has
    /// to stay where it is. (A partition is printed as a plain table and attached later; a
    /// partitioned table is only held in place by its partitions.)
    pub fn inherits(&self) -> bool {
        self.tail.contains("INHERITS (")
    }

    /// Returns the tables this one inherits from, as `(schema, name)`.
    pub fn parents(&self) -> Vec<(String, String)> {
        let Some(at) = self.tail.find("INHERITS (") else { return Vec::new() };
        let open = at + "INHERITS ".len();
        let Some(close) = closing_paren(&self.tail, open) else { return Vec::new() };
        split_top_level(&self.tail[open + 1..close], b',')
            .into_iter()
            .filter_map(|p| qualified_name(p.trim()).map(|(s, n, _)| (s, n)))
            .collect()
    }

    /// Returns the column named `name` (as stored).
    pub fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }

    /// Adds a table constraint (as it reads inside the statement).
    pub fn add_constraint(&mut self, text: String) {
        self.constraints.push(text);
    }

    /// Returns the table constraints, to take them out and place them again.
    pub fn constraints_mut(&mut self) -> &mut Vec<String> {
        &mut self.constraints
    }

    /// Prints the statement and the statements after it.
    pub fn render(&self) -> String {
        let rank = |c: &str| {
            let def = constraint_definition(c);
            ["PRIMARY KEY", "UNIQUE", "EXCLUDE", "CHECK", "FOREIGN KEY"]
                .iter()
                .position(|k| def.starts_with(k))
                .unwrap_or(5)
        };
        let mut constraints: Vec<&String> = self.constraints.iter().collect();
        constraints.sort_by_key(|c| rank(c));
        let elements: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("    {} {}", c.printed, c.definition))
            .chain(constraints.iter().map(|c| format!("    {c}")))
            .collect();
        let body = if elements.is_empty() { String::new() } else { format!("\n{}\n", elements.join(",\n")) };
        let mut text = format!("{} ({body}){};", self.head, self.tail);
        for statement in &self.after {
            text.push('\n');
            text.push_str(statement);
        }
        text
    }
}

impl Column {
    /// Drops a trailing `NOT NULL`, which identity columns and primary keys imply. A named one
    /// (`CONSTRAINT x NOT NULL`, pg_dump 18 for a name Postgres would not choose) stays: the key
    /// would name its own.
    pub fn drop_not_null(&mut self) {
        if let Some(start) = not_null_start(&self.definition)
            && self.definition[start..] == *" NOT NULL"
        {
            self.definition.truncate(start);
        }
    }

    /// Adds `DEFAULT expression` where pg_dump puts it: before `NOT NULL` (or its `CONSTRAINT`).
    pub fn set_default(&mut self, expression: &str) {
        let at = not_null_start(&self.definition).unwrap_or(self.definition.len());
        self.definition.insert_str(at, &format!(" DEFAULT {expression}"));
    }

    /// Removes a `DEFAULT NULL` pg_dump wrote for an inherited column; whether it did.
    pub fn remove_default_null(&mut self) -> bool {
        let at = not_null_start(&self.definition).unwrap_or(self.definition.len());
        match self.definition[..at].strip_suffix(" DEFAULT NULL") {
            Some(before) => {
                self.definition = format!("{before}{}", &self.definition[at..]);
                true
            }
            None => false,
        }
    }
}

/// Returns where a column definition's trailing NOT NULL starts: its ` NOT NULL`, or the
/// ` CONSTRAINT name NOT NULL` pg_dump 18 prints for a NOT NULL constraint with a name of its own.
fn not_null_start(definition: &str) -> Option<usize> {
    let plain = definition.strip_suffix(" NOT NULL")?.len();
    let named = definition[..plain].rfind(" CONSTRAINT ").filter(|&at| {
        identifier(&definition[at + " CONSTRAINT ".len()..plain]).is_some_and(|(_, rest)| rest.is_empty())
    });
    Some(named.unwrap_or(plain))
}

/// Returns a table constraint's definition without its `CONSTRAINT name` prefix.
pub fn constraint_definition(text: &str) -> &str {
    match text.strip_prefix("CONSTRAINT ").and_then(identifier) {
        Some((_, rest)) => rest.trim_start(),
        None => text,
    }
}

/// Splits an entry's SQL into its statements (each with its `;`).
pub fn statements(sql: &str) -> Vec<&str> {
    let parts = split_top_level(sql, b';');
    let mut out = Vec::new();
    let mut start = 0;
    for part in &parts[..parts.len() - 1] {
        let end = start + part.len() + 1;
        let statement = sql[start..end].trim();
        if !statement.is_empty() {
            out.push(statement);
        }
        start = end;
    }
    let last = sql[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_a_table_apart_and_puts_it_back() {
        let sql = "CREATE TABLE public.\"User\" (\n    id integer NOT NULL,\n    \"createdAt\" timestamp(3) without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,\n    note text DEFAULT 'a, b'::text,\n    CONSTRAINT \"User_id_check\" CHECK ((id > 0))\n);\nALTER TABLE ONLY public.\"User\" REPLICA IDENTITY FULL;";
        let mut table = Table::parse(sql).unwrap();
        assert_eq!((table.schema.as_str(), table.name.as_str()), ("public", "User"));
        assert_eq!(table.printed_name(), "public.\"User\"");
        assert_eq!(table.columns.len(), 3);
        assert_eq!(table.columns[1].name, "createdAt");
        assert_eq!(table.columns[1].printed, "\"createdAt\"");
        assert_eq!(table.after, ["ALTER TABLE ONLY public.\"User\" REPLICA IDENTITY FULL;"]);
        assert!(!table.inherits());
        assert_eq!(table.render(), sql);
        table.column_mut("id").unwrap().drop_not_null();
        table.add_constraint("PRIMARY KEY (id)".to_string());
        assert!(table.render().contains("    id integer,\n"));
        assert!(table
            .render()
            .contains("    PRIMARY KEY (id),\n    CONSTRAINT \"User_id_check\" CHECK ((id > 0))\n);"));
    }

    #[test]
    fn knows_children_and_partitioned_tables() {
        let child =
            Table::parse("CREATE TABLE public.c (\n    a integer DEFAULT NULL\n)\nINHERITS (public.p, public.\"Q\");")
                .unwrap();
        assert!(child.inherits());
        assert_eq!(child.parents(), [("public".to_string(), "p".to_string()), ("public".to_string(), "Q".to_string())]);
        let mut column = child.columns[0].clone();
        assert!(column.remove_default_null());
        assert_eq!(column.definition, "integer");
        let parent = Table::parse("CREATE TABLE public.p (\n    a integer\n)\nPARTITION BY RANGE (a);").unwrap();
        // pg_dump 18 names a NOT NULL constraint whose name is not the one Postgres would choose.
        let mut named =
            Column { definition: "timestamp(3) DEFAULT NULL CONSTRAINT p_a_not_null NOT NULL".into(), ..column };
        assert!(named.remove_default_null());
        assert_eq!(named.definition, "timestamp(3) CONSTRAINT p_a_not_null NOT NULL");
        named.set_default("now()");
        assert_eq!(named.definition, "timestamp(3) DEFAULT now() CONSTRAINT p_a_not_null NOT NULL");
        named.drop_not_null();
        assert_eq!(named.definition, "timestamp(3) DEFAULT now() CONSTRAINT p_a_not_null NOT NULL", "its name stays");
        let mut plain = Column { definition: "text DEFAULT NULL NOT NULL".into(), ..named };
        assert!(plain.remove_default_null());
        plain.drop_not_null();
        assert_eq!(plain.definition, "text");
        assert!(!parent.inherits(), "a partitioned table is held in place only by its partitions");
        assert!(Table::parse("CREATE TABLE public.t OF public.ty;").is_none());
    }
}
