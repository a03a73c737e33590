//! Puts the entries of one generated file in a readable order: each table with what belongs to
//! it, every statement after all that it needs (the archive's dependencies say what that is).

use std::collections::{HashMap, HashSet};

use super::chunks::{Chunk, ObjectSettings};
use super::grants;
use super::members::{owned_by, Member, Sequence};
use super::sql::{identifier_list, qualified_name};
use super::table::{constraint_definition, Table};
use crate::facts::{is_default_sequence_name, ConstraintKind, Facts};
use crate::toc::TocEntry;

/// A file's statements, shaped, and the roles its grants name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shaped {
    /// The statements, a blank line between groups (a table with what belongs to it).
    pub sql: String,
    /// Roles other than the one running the migrations that the statements name.
    pub roles: Vec<String>,
}

/// Kinds that belong to a table (or the object they are about) and are written after it.
const ATTACHED: &[&str] = &[
    "COMMENT",
    "SEQUENCE OWNED BY",
    "DEFAULT",
    "CONSTRAINT",
    "CHECK CONSTRAINT",
    "INDEX",
    "FK CONSTRAINT",
    "TRIGGER",
    "ROW SECURITY",
    "POLICY",
    "PUBLICATION TABLE",
    "PUBLICATION TABLES IN SCHEMA",
];

/// Kinds written last, after every object, as `pg_restore` runs them.
const LAST: &[&str] = &["ACL", "DEFAULT ACL"];

/// The entries of a file and what is known about each.
struct Layout<'a> {
    chunks: &'a [Chunk],
    facts: &'a Facts,
    /// Chunks each chunk needs first (in this file).
    deps: Vec<Vec<usize>>,
    /// The chunk each chunk is written after, if it belongs to one.
    owner: Vec<Option<usize>>,
    /// Chunks that need or belong to each chunk.
    dependents: Vec<Vec<usize>>,
    tables: HashMap<usize, Table>,
    /// Tables whose statements stay as pg_dump printed them (inheritance, partitions).
    fixed: HashSet<usize>,
    /// Sequences a `serial` column makes, by sequence chunk.
    serials: HashMap<usize, Serial>,
    done: Vec<bool>,
    pieces: Vec<Piece>,
}

/// A sequence that is exactly what a `serial` column makes, and the chunks that say so.
#[derive(Debug, Clone)]
struct Serial {
    table: usize,
    column: String,
    /// `serial`, `bigserial` or `smallserial`.
    kind: &'static str,
    /// The `SEQUENCE OWNED BY` and `DEFAULT` chunks.
    owned_by: usize,
    default: usize,
}

/// A statement group's text, with the object settings it is made with.
struct Piece {
    text: String,
    settings: Option<ObjectSettings>,
    starts_group: bool,
}

/// Lays out `chunks`, whose entries are in `entries`.
pub fn lay_out(chunks: &[Chunk], entries: &[TocEntry], facts: &Facts) -> Shaped {
    let mut layout = Layout::new(chunks, entries, facts);
    for c in 0..chunks.len() {
        if !layout.done[c] && layout.is_anchor(c) {
            layout.emit(c, true);
        }
    }
    // Whatever still waits (nothing should) keeps pg_dump's order.
    for (c, chunk) in chunks.iter().enumerate() {
        if !layout.done[c] && !LAST.contains(&chunk.kind.as_str()) {
            layout.emit(c, true);
        }
    }
    let mut last = Vec::new();
    for chunk in chunks.iter().filter(|c| LAST.contains(&c.kind.as_str())) {
        last.push(grants::for_current_role(&chunk.sql, &facts.role));
    }
    let mut sql = layout.render();
    if !last.is_empty() {
        sql.push_str("\n\n");
        sql.push_str(&last.join("\n"));
    }
    let roles = grants::roles(&last.join("\n")).into_iter().filter(|r| *r != facts.role).collect();
    Shaped { sql, roles }
}

impl<'a> Layout<'a> {
    fn new(chunks: &'a [Chunk], entries: &[TocEntry], facts: &'a Facts) -> Layout<'a> {
        let by_dump: HashMap<u32, usize> =
            chunks.iter().enumerate().filter_map(|(c, ch)| ch.entry.map(|e| (entries[e].dump_id, c))).collect();
        let deps: Vec<Vec<usize>> = chunks
            .iter()
            .enumerate()
            .map(|(c, ch)| match ch.entry {
                Some(e) => {
                    let mut d: Vec<usize> = entries[e].deps.iter().filter_map(|d| by_dump.get(d).copied()).collect();
                    d.retain(|&d| d != c);
                    d.dedup();
                    d
                }
                None => Vec::new(),
            })
            .collect();
        let tables: HashMap<usize, Table> = chunks
            .iter()
            .enumerate()
            .filter(|(_, ch)| ch.kind == "TABLE")
            .filter_map(|(c, ch)| Table::parse(&ch.sql).map(|t| (c, t)))
            .collect();
        let table_at: HashMap<(String, String), usize> =
            tables.iter().map(|(&c, t)| ((t.schema.clone(), t.name.clone()), c)).collect();

        // A table that inherits, what it inherits from, and both sides of a partition's attach
        // keep pg_dump's statements; a partitioned table without partitions takes its keys inside.
        let mut fixed: HashSet<usize> = tables.iter().filter(|(_, t)| t.inherits()).map(|(&c, _)| c).collect();
        for table in tables.values() {
            fixed.extend(table.parents().iter().filter_map(|p| table_at.get(p)));
        }
        for chunk in chunks.iter().filter(|ch| ch.kind == "TABLE ATTACH") {
            fixed.extend(attached_tables(&chunk.sql).iter().filter_map(|t| table_at.get(t)));
        }
        // Any table a table that is not in this file inherits from or is attached to is unknown:
        // chunks of kind TABLE that did not parse stay where they are too.
        fixed.extend(
            chunks.iter().enumerate().filter(|(c, ch)| ch.kind == "TABLE" && !tables.contains_key(c)).map(|(c, _)| c),
        );

        let mut owner: Vec<Option<usize>> = vec![None; chunks.len()];
        for (c, chunk) in chunks.iter().enumerate() {
            let table_dep = || {
                let named = chunk.entry.map(|e| entries[e].schema_and_name());
                let tables_among: Vec<usize> = deps[c].iter().copied().filter(|d| tables.contains_key(d)).collect();
                tables_among
                    .iter()
                    .copied()
                    .find(|d| {
                        named.is_some_and(|(schema, name)| {
                            let t = &tables[d];
                            t.schema == schema && name.strip_prefix(t.name.as_str()).is_some_and(|r| r.starts_with(' '))
                        })
                    })
                    .or(tables_among.first().copied())
            };
            owner[c] = match chunk.kind.as_str() {
                "COMMENT" => deps[c].first().copied(),
                "SEQUENCE" if chunk.sql.starts_with("ALTER TABLE ") => table_dep(),
                "SEQUENCE OWNED BY" => owned_by(&chunk.sql).and_then(|(_, table, _)| table_at.get(&table).copied()),
                "INDEX" => {
                    deps[c].iter().copied().find(|d| matches!(chunks[*d].kind.as_str(), "TABLE" | "MATERIALIZED VIEW"))
                }
                "PUBLICATION TABLE" | "PUBLICATION TABLES IN SCHEMA" => {
                    deps[c].iter().copied().find(|d| chunks[*d].kind == "PUBLICATION")
                }
                kind if ATTACHED.contains(&kind) => table_dep(),
                _ => None,
            };
            // What belongs to a table whose statements stay put stays put too; its comments may move.
            if owner[c].is_some_and(|o| fixed.contains(&o)) && chunk.kind != "COMMENT" {
                owner[c] = None;
            }
        }
        let mut dependents = vec![Vec::new(); chunks.len()];
        for c in 0..chunks.len() {
            for &d in deps[c].iter().chain(owner[c].iter()) {
                dependents[d].push(c);
            }
        }
        let mut layout = Layout {
            chunks,
            facts,
            deps,
            owner,
            dependents,
            tables,
            fixed,
            serials: HashMap::new(),
            done: vec![false; chunks.len()],
            pieces: Vec::new(),
        };
        layout.find_serials();
        layout
    }

    /// Whether chunk `c` is written in pg_dump's order (not after an owner, not last, not folded).
    fn is_anchor(&self, c: usize) -> bool {
        self.owner[c].is_none() && !LAST.contains(&self.chunks[c].kind.as_str()) && !self.serials.contains_key(&c)
    }

    /// Finds sequences that are exactly what a `serial` column makes: named by default, default
    /// options, owned by the column whose default takes from it, with the column's type.
    fn find_serials(&mut self) {
        let mut owned: HashMap<(String, String), (usize, usize, String)> = HashMap::new();
        for (c, chunk) in self.chunks.iter().enumerate().filter(|(_, ch)| ch.kind == "SEQUENCE OWNED BY") {
            if let (Some((sequence, _, column)), Some(table)) = (owned_by(&chunk.sql), self.owner[c]) {
                owned.insert(sequence, (c, table, column));
            }
        }
        for (s, chunk) in self.chunks.iter().enumerate().filter(|(_, ch)| ch.kind == "SEQUENCE") {
            let Some(sequence) = Sequence::parse(&chunk.sql) else { continue };
            let Some((owned_chunk, table, column)) =
                owned.get(&(sequence.schema.clone(), sequence.name.clone())).cloned()
            else {
                continue;
            };
            let t = &self.tables[&table];
            let Some(col) = t.columns.iter().find(|c| c.name == column) else { continue };
            let serial = match (sequence.options.as_slice(), col.definition.as_str()) {
                ([], "bigint NOT NULL") => "bigserial",
                ([o], "integer NOT NULL") if o == "AS integer" => "serial",
                ([o], "smallint NOT NULL") if o == "AS smallint" => "smallserial",
                _ => continue,
            };
            let nextval = format!("nextval('{}'::regclass)", sequence.printed_name);
            let default = self.chunks.iter().enumerate().position(|(d, ch)| {
                ch.kind == "DEFAULT"
                    && self.owner[d] == Some(table)
                    && Member::parse("DEFAULT", &ch.sql)
                        == Some(Member::Default {
                            table: (t.schema.clone(), t.name.clone()),
                            column: column.clone(),
                            expression: nextval.clone(),
                        })
            });
            let Some(default) = default else { continue };
            if sequence.schema != t.schema || !is_default_sequence_name(&t.name, &column, &sequence.name) {
                continue;
            }
            self.serials.insert(s, Serial { table, column, kind: serial, owned_by: owned_chunk, default });
        }
    }

    /// Whether chunk `c` can be written now: what it belongs to and what it needs are written.
    fn is_ready(&self, c: usize) -> bool {
        self.owner[c].is_none_or(|o| self.done[o]) && self.deps[c].iter().all(|&d| self.done[d])
    }

    /// Writes chunk `c` (a table with what folds into it), then what that made ready.
    fn emit(&mut self, c: usize, starts_group: bool) {
        let chunk = &self.chunks[c];
        let mut written = vec![c];
        let text = if self.tables.contains_key(&c) && !self.fixed.contains(&c) {
            let (text, folded) = self.fold_table(c);
            written.extend(folded);
            text
        } else if self.fixed.contains(&c) {
            self.fix_defaults(c)
        } else {
            self.shaped_default(c).unwrap_or_else(|| shaped(chunk))
        };
        let settings = matches!(chunk.kind.as_str(), "TABLE" | "MATERIALIZED VIEW" | "INDEX" | "CONSTRAINT")
            .then(|| chunk.settings.clone());
        self.pieces.push(Piece { text, settings, starts_group });
        for &w in &written {
            self.done[w] = true;
        }
        let mut ready: Vec<usize> = written
            .iter()
            .flat_map(|&w| self.dependents[w].iter().copied())
            .filter(|&k| !self.done[k] && !self.is_anchor(k) && !LAST.contains(&self.chunks[k].kind.as_str()))
            .collect();
        ready
            .sort_by_key(|&k| (!written.contains(&self.owner[k].unwrap_or(usize::MAX)), rank(&self.chunks[k].kind), k));
        ready.dedup();
        for k in ready {
            if !self.done[k] && self.is_ready(k) {
                self.emit(k, false);
            }
        }
    }

    /// Returns table `c`'s `CREATE TABLE` with what can go inside it, and the chunks folded in.
    fn fold_table(&mut self, c: usize) -> (String, Vec<usize>) {
        let mut table = self.tables[&c].clone();
        let mut folded: Vec<usize> = Vec::new();
        for column in &mut table.columns {
            let key = (table.schema.clone(), table.name.clone(), column.name.clone());
            if self.facts.inherited_without_default.contains(&key) {
                column.remove_default_null();
            }
        }
        for (&s, serial) in self.serials.iter().filter(|(_, serial)| serial.table == c) {
            if let Some(col) = table.column_mut(&serial.column) {
                col.definition = serial.kind.to_string();
                folded.extend([s, serial.owned_by, serial.default]);
            }
        }
        let inline: Vec<String> = std::mem::take(table.constraints_mut());
        for text in inline {
            let (name, definition) = split_constraint(&text);
            self.place_constraint(&mut table, &name.0, &name.1, definition);
        }
        let members: Vec<usize> =
            (0..self.chunks.len()).filter(|&m| self.owner[m] == Some(c) && !folded.contains(&m)).collect();
        for m in members {
            let chunk = &self.chunks[m];
            let needs_only_written = self.deps[m].iter().all(|&d| d == c || self.done[d] || folded.contains(&d));
            if !needs_only_written || chunk.settings.tablespace != self.chunks[c].settings.tablespace {
                continue;
            }
            let Some(member) = Member::parse(&chunk.kind, &chunk.sql) else { continue };
            if *member.table() != (table.schema.clone(), table.name.clone()) {
                continue;
            }
            let placed = match member {
                Member::Identity { column, generated, options, .. } => {
                    let options: Vec<String> = options
                        .into_iter()
                        .filter(|o| {
                            let named = o.strip_prefix("SEQUENCE NAME ").and_then(qualified_name);
                            !named.is_some_and(|(schema, name, rest)| {
                                rest.is_empty()
                                    && schema == table.schema
                                    && is_default_sequence_name(&table.name, &column, &name)
                            })
                        })
                        .collect();
                    match table.column_mut(&column) {
                        Some(col) => {
                            col.drop_not_null();
                            col.definition.push_str(&format!(" {generated}"));
                            if !options.is_empty() {
                                col.definition.push_str(&format!(" ({})", options.join(" ")));
                            }
                            true
                        }
                        None => false,
                    }
                }
                Member::Default { column, expression, .. } => match table.column_mut(&column) {
                    Some(col) if !col.definition.contains(" DEFAULT ") => {
                        col.set_default(&expression);
                        true
                    }
                    _ => false,
                },
                Member::Constraint { name, printed_name, definition, .. } => {
                    self.place_constraint(&mut table, &name, &printed_name, &definition);
                    true
                }
            };
            if placed {
                folded.push(m);
            }
        }
        (table.render(), folded)
    }

    /// Writes a constraint inside `table`: on its column when it has one column and the name
    /// Postgres would give it anyway, else as a table constraint, named unless that name is
    /// Postgres's own choice.
    fn place_constraint(&self, table: &mut Table, name: &str, printed_name: &str, definition: &str) {
        let kind = [
            ("PRIMARY KEY ", ConstraintKind::PrimaryKey),
            ("UNIQUE ", ConstraintKind::Unique),
            ("FOREIGN KEY ", ConstraintKind::ForeignKey),
            ("CHECK ", ConstraintKind::Check),
        ]
        .into_iter()
        .find(|(prefix, _)| definition.starts_with(prefix))
        .map(|(_, k)| k);
        if kind == Some(ConstraintKind::PrimaryKey) {
            for column in self.facts.constraint_columns(&table.schema, &table.name, name).unwrap_or_default() {
                if let Some(col) = table.column_mut(column) {
                    col.drop_not_null();
                }
            }
        }
        let default_name = kind.is_some_and(|k| self.facts.has_default_name(&table.schema, &table.name, name, k));
        if !default_name {
            table.add_constraint(format!("CONSTRAINT {printed_name} {definition}"));
            return;
        }
        let columns = self.facts.constraint_columns(&table.schema, &table.name, name).unwrap_or_default().to_vec();
        if let [column] = columns.as_slice()
            && let Some(clause) = column_clause(kind.expect("a default name has a kind"), definition, column)
            && let Some(col) = table.column_mut(column)
        {
            col.definition.push_str(&format!(" {clause}"));
            return;
        }
        table.add_constraint(definition.to_string());
    }

    /// Returns a table whose statements stay as pg_dump printed them, with the defaults the
    /// catalog says its inherited columns do not have removed.
    fn fix_defaults(&self, c: usize) -> String {
        let Some(table) = self.tables.get(&c) else { return shaped(&self.chunks[c]) };
        let mut table = table.clone();
        let inherits = !table.parents().is_empty();
        let mut dropped: Vec<String> = Vec::new();
        for column in &mut table.columns {
            let key = (table.schema.clone(), table.name.clone(), column.name.clone());
            if !self.facts.inherited_without_default.contains(&key) {
                continue;
            }
            if inherits {
                // `INHERITS` would give the column its parent's default: drop it after instead.
                if column.definition.contains(" DEFAULT NULL") {
                    dropped.push(column.printed.clone());
                }
            } else {
                column.remove_default_null();
            }
        }
        let name = table.printed_name().to_string();
        table.after.extend(dropped.iter().map(|c| format!("ALTER TABLE ONLY {name} ALTER COLUMN {c} DROP DEFAULT;")));
        table.render()
    }

    /// Returns `DROP DEFAULT` for pg_dump's `SET DEFAULT NULL` on an inherited column that has
    /// no default: pg_dump means "not the parent's", but replayed with a type modifier
    /// (`timestamp(3)`) it stores a default of its own.
    fn shaped_default(&self, c: usize) -> Option<String> {
        let chunk = &self.chunks[c];
        if chunk.kind != "DEFAULT" {
            return None;
        }
        let Some(Member::Default { table, column, expression }) = Member::parse("DEFAULT", &chunk.sql) else {
            return None;
        };
        let key = (table.0, table.1, column);
        (expression == "NULL" && self.facts.inherited_without_default.contains(&key))
            .then(|| chunk.sql.replacen(" SET DEFAULT NULL;", " DROP DEFAULT;", 1))
    }

    /// Joins the pieces: a blank line between groups, the object settings where they change.
    fn render(&self) -> String {
        let mut out = String::new();
        let mut current = ObjectSettings::defaults();
        for piece in &self.pieces {
            if piece.starts_group && !out.is_empty() {
                out.push_str("\n\n");
            } else if !out.is_empty() {
                out.push('\n');
            }
            if let Some(settings) = &piece.settings {
                if settings.tablespace != current.tablespace {
                    out.push_str(&format!("SET LOCAL default_tablespace = {};\n", settings.tablespace));
                }
                if settings.access_method != current.access_method {
                    out.push_str(&format!("SET LOCAL default_table_access_method = {};\n", settings.access_method));
                }
                current = settings.clone();
            }
            out.push_str(&piece.text);
        }
        out
    }
}

/// Returns a column-level form of a one-column constraint: `PRIMARY KEY`, `UNIQUE`,
/// `REFERENCES ...`, `CHECK (...)`, when its definition has no more than that to say.
fn column_clause(kind: ConstraintKind, definition: &str, column: &str) -> Option<String> {
    let one_column = |list: &str| identifier_list(list).is_some_and(|cols| cols == [column]);
    match kind {
        ConstraintKind::PrimaryKey => {
            one_column(definition.strip_prefix("PRIMARY KEY ")?).then(|| "PRIMARY KEY".into())
        }
        ConstraintKind::Unique => one_column(definition.strip_prefix("UNIQUE ")?).then(|| "UNIQUE".into()),
        ConstraintKind::ForeignKey => {
            let rest = definition.strip_prefix("FOREIGN KEY ")?;
            let close = super::sql::closing_paren(rest, 0)?;
            let references = rest[close + 1..].strip_prefix(' ')?;
            (one_column(&rest[..=close]) && references.starts_with("REFERENCES ")).then(|| references.to_string())
        }
        ConstraintKind::Check => Some(definition.to_string()),
    }
}

/// Splits `CONSTRAINT name definition` into ((name, printed name), definition).
fn split_constraint(text: &str) -> ((String, String), &str) {
    let definition = constraint_definition(text);
    let printed = text.strip_prefix("CONSTRAINT ").map_or("", |r| r[..r.len() - definition.len()].trim_end());
    let name = super::sql::identifier(printed).map(|(n, _)| n).unwrap_or_default();
    ((name, printed.to_string()), definition)
}

/// Returns the `(schema, name)` of the parent and the partition of `ALTER TABLE ONLY p ATTACH PARTITION c`.
fn attached_tables(sql: &str) -> Vec<(String, String)> {
    let Some(rest) = sql.strip_prefix("ALTER TABLE ONLY ") else { return Vec::new() };
    let Some((schema, name, rest)) = qualified_name(rest) else { return Vec::new() };
    let mut tables = vec![(schema, name)];
    if let Some((schema, name, _)) = rest.strip_prefix(" ATTACH PARTITION ").and_then(qualified_name) {
        tables.push((schema, name));
    }
    tables
}

/// Returns an entry's SQL as it reads best on its own: one-line sequences, indexes without the
/// default `USING btree`.
fn shaped(chunk: &Chunk) -> String {
    match chunk.kind.as_str() {
        "SEQUENCE" => Sequence::parse(&chunk.sql).map_or_else(|| chunk.sql.clone(), |s| s.render()),
        "INDEX" if chunk.sql.starts_with("CREATE ") => chunk.sql.replacen(" USING btree (", " (", 1),
        _ => chunk.sql.clone(),
    }
}

/// Orders what follows an object: comments, then keys, indexes, foreign keys, triggers, policies.
fn rank(kind: &str) -> usize {
    ATTACHED.iter().position(|k| *k == kind).unwrap_or(ATTACHED.len())
}
