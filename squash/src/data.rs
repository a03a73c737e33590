//! Carries the rows the old chain leaves behind into generated data migrations.
//!
//! The rows to carry are those in the old chain's database minus those in a database built from
//! the new schema files plus the kept migrations (which write their own rows again).

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context;
use migrator::migrate::HISTORY_TABLE;
use migrator::migrations::{MigrationSet, KEEP_MARKER};
use migrator::sql::quote_literal;
use postgres::Client;

use super::header::{header, Contents};
use super::prove::ComparableRow;
use super::provenance::KeptWrite;

/// A user table as the data migration needs it.
struct Table {
    oid: u32,
    name: String,
    /// Quoted column names, without generated columns.
    columns: Vec<String>,
    /// Quoted names and types of the json/jsonb columns among them (JSON `null` and SQL NULL
    /// look alike in a row's JSON, so these travel as text).
    json_columns: Vec<(String, String)>,
}

/// The generated data migrations, one text per module, in module order.
pub struct DataFiles {
    pub files: Vec<(Option<String>, String)>,
    pub rows: usize,
    pub sequences: usize,
}

/// What the data migrations need to know of the chain and the plan.
pub struct Chain<'a> {
    pub set: &'a MigrationSet,
    /// Modules in the order their initial migrations run.
    pub module_order: &'a [Option<String>],
    /// OID of every dumped object -> the module of the migration that made it.
    pub object_modules: &'a HashMap<u32, Option<String>>,
    pub kept_writes: &'a [KeptWrite],
}

/// Compares `old` (the chain) with `new` (new schema + kept migrations) and returns the SQL that
/// makes `new` hold the same rows and sequence positions.
pub fn carry(old: &mut Client, new: &mut Client, chain: &Chain<'_>) -> anyhow::Result<DataFiles> {
    let large_objects: i64 = old.query_one("SELECT count(*) FROM pg_catalog.pg_largeobject_metadata", &[])?.get(0);
    anyhow::ensure!(
        large_objects == 0,
        "the chain leaves {large_objects} large objects, which squash cannot carry: mark the migrations that \
         create them with a `{KEEP_MARKER}` line"
    );
    // Rows hidden by row-level security would be missed silently: fail instead.
    old.batch_execute("SET row_security = off")?;
    new.batch_execute("SET row_security = off")?;
    let carried = carry_rows(old, new, chain);
    new.batch_execute("RESET row_security")?;
    carried
}

/// Does [`carry`]'s work, once reading rows is sure to see them all.
fn carry_rows(old: &mut Client, new: &mut Client, chain: &Chain<'_>) -> anyhow::Result<DataFiles> {
    let Chain { set, module_order, object_modules, kept_writes } = *chain;
    let groups = super::cycles::table_groups(old)?;
    let names: Vec<String> = groups.iter().flatten().map(|(_, name)| name.clone()).collect();
    let filled_old = super::prove::filled_tables(old, &names)?;
    let filled_new = super::prove::filled_tables(new, &names)?;
    // Every table that holds rows in either database is read in a few queries for all of them:
    // a query a table costs a round trip each, which on a wide schema is most of the step.
    let compared: Vec<(u32, String)> = groups
        .iter()
        .flatten()
        .filter(|(_, name)| filled_old.contains(name) || filled_new.contains(name))
        .cloned()
        .collect();
    let tables = describe(old, &compared)?;
    let compared_names: Vec<String> = compared.into_iter().map(|(_, name)| name).collect();
    let comparable = super::prove::comparable_rows(old, &compared_names)?;
    let mut old_rows = old_rows(old, &tables, &comparable)?;
    let mut new_rows = new_rows(new, &tables, &comparable)?;
    let mut targets = InsertTargets::read(new, &tables)?;
    let index: HashMap<&str, usize> = compared_names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut by_module: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    let mut rows_total = 0;
    let mut conflicts = Vec::new();
    for group in &groups {
        let mut inserts = Vec::new();
        for (_, name) in group {
            let Some(&i) = index.get(name.as_str()) else { continue };
            let table = &tables[i];
            match rows_to_carry(std::mem::take(&mut old_rows[i]), std::mem::take(&mut new_rows[i])) {
                Carry::Rows(rows) => {
                    rows_total += rows.len();
                    inserts.push(Insert::new(table, targets.take(i)?, object_modules, &rows));
                }
                Carry::Nothing => {}
                Carry::Extra(extra) => conflicts.push(conflict_message(table, extra, set, kept_writes)),
            }
        }
        if let Some((module, sql)) = group_sql(inserts, module_order) {
            by_module.entry(module).or_default().push(sql);
        }
    }
    if !conflicts.is_empty() {
        anyhow::bail!("{}", conflicts.join("\n"));
    }

    let mut sequences = 0;
    let states = sequence_states(old)?;
    let names: Vec<String> = states.iter().map(|s| s.name.clone()).collect();
    // The new set has the same sequences, or the proof says so; until then, set them all.
    let now = positions(new, &names).unwrap_or_default();
    for SequenceState { oid, name, position: state } in states {
        if now.get(&name) == Some(&state) {
            continue;
        }
        sequences += 1;
        let module = object_modules.get(&oid).cloned().flatten();
        by_module.entry(module).or_default().push(format!(
            "SELECT pg_catalog.setval({}, {}, {});\n",
            quote_literal(&name),
            state.0,
            state.1
        ));
    }

    // Materialized views read other modules' rows: refresh them after every insert, in the last file.
    let mut refreshes = Vec::new();
    let mut refreshed_module = None;
    for row in old.query(
        "SELECT c.oid, format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'm' AND c.relispopulated ORDER BY 2",
        &[],
    )? {
        let (oid, name): (u32, String) = (row.get(0), row.get(1));
        let populated =
            new.query_opt("SELECT relispopulated FROM pg_catalog.pg_class WHERE oid = to_regclass($1)", &[&name])?;
        if populated.is_some_and(|r| r.get::<_, bool>(0)) {
            continue;
        }
        refreshes.push(format!("REFRESH MATERIALIZED VIEW {name};\n"));
        refreshed_module = object_modules.get(&oid).cloned();
    }

    let mut files = Vec::new();
    let mut order: Vec<Option<String>> = module_order.to_vec();
    for module in by_module.keys() {
        if !order.contains(module) {
            order.push(module.clone());
        }
    }
    for module in &order {
        if let Some(parts) = by_module.remove(module) {
            files.push((module.clone(), parts));
        }
    }
    if !refreshes.is_empty() {
        match files.last_mut() {
            Some((_, parts)) => parts.extend(refreshes),
            None => files.push((refreshed_module.flatten(), refreshes)),
        }
    }
    let files = files
        .into_iter()
        .map(|(module, parts)| {
            let text = format!("{}\n{}", header(Contents::Data(module.as_deref()), None, &[]), parts.join("\n"));
            (module, text)
        })
        .collect();
    Ok(DataFiles { files, rows: rows_total, sequences })
}

/// What a table's rows need in the new set.
enum Carry {
    /// These rows (JSON objects), which the new set lacks.
    Rows(Vec<String>),
    /// The new set holds the old chain's rows already.
    Nothing,
    /// The new set holds this many rows the old chain does not end with.
    Extra(usize),
}

/// A table's rows in the old chain's database, in physical order: each row's comparable text and
/// its JSON (to carry).
type OldRows = Vec<(String, String)>;

/// A table's rows in the new set's database: how many of each comparable text.
type NewRows = HashMap<String, usize>;

/// Compares a table's rows in both databases.
fn rows_to_carry(old_rows: OldRows, mut present: NewRows) -> Carry {
    let mut carried = Vec::new();
    for (text, json) in old_rows {
        match present.get_mut(&text) {
            Some(n) if *n > 0 => *n -= 1,
            _ => carried.push(json),
        }
    }
    let extra: usize = present.values().sum();
    if extra > 0 {
        Carry::Extra(extra)
    } else if carried.is_empty() {
        Carry::Nothing
    } else {
        Carry::Rows(carried)
    }
}

/// Reads the rows of every one of `tables` in the old chain's database, in one query: each
/// table's rows in physical order, which keeps rows that reference rows of the same table after
/// them as often as insertion order did.
fn old_rows(old: &mut Client, tables: &[Table], comparable: &[ComparableRow]) -> anyhow::Result<Vec<OldRows>> {
    let parts: Vec<String> =
        tables.iter().zip(comparable).enumerate().map(|(k, (t, c))| source_query(k, t, &c.expr)).collect();
    let mut rows = vec![Vec::new(); tables.len()];
    if parts.is_empty() {
        return Ok(rows);
    }
    let query = format!("SELECT k, c, j FROM (\n{}\n) u ORDER BY k, r", parts.join("\nUNION ALL\n"));
    for row in old.query(&query, &[]).context("read the chain's rows")? {
        let k: i32 = row.get(0);
        rows[k as usize].push((row.get(1), row.get(2)));
    }
    Ok(rows)
}

/// Counts the rows of every one of `tables` in the new set's database by comparable text, in one
/// query.
fn new_rows(new: &mut Client, tables: &[Table], comparable: &[ComparableRow]) -> anyhow::Result<Vec<NewRows>> {
    let parts: Vec<String> = tables
        .iter()
        .zip(comparable)
        .enumerate()
        .map(|(k, (t, c))| format!("SELECT {k} AS k, {} AS c FROM ONLY {} t", c.expr, t.name))
        .collect();
    let mut rows = vec![HashMap::new(); tables.len()];
    if parts.is_empty() {
        return Ok(rows);
    }
    for row in new.query(&parts.join("\nUNION ALL\n"), &[]).context("read the new set's rows")? {
        let k: i32 = row.get(0);
        *rows[k as usize].entry(row.get(1)).or_default() += 1;
    }
    Ok(rows)
}

/// What inserting into a table of the new set has to work around: its forced row-level security
/// and its enabled triggers.
struct InsertTarget {
    forced: bool,
    /// `(name, enabled always)` of the triggers that fire on insert in a normal session.
    triggers: Vec<(String, bool)>,
}

/// [`InsertTarget`]s of the tables the data step compares, read for all of them at once.
struct InsertTargets {
    names: Vec<String>,
    targets: Vec<Option<InsertTarget>>,
}

impl InsertTargets {
    /// Reads, in the new set's database, what inserting into each of `tables` works around.
    fn read(new: &mut Client, tables: &[Table]) -> anyhow::Result<InsertTargets> {
        let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
        let mut targets: Vec<Option<InsertTarget>> = (0..tables.len()).map(|_| None).collect();
        let rows = new.query(
            "SELECT t.i, c.relforcerowsecurity,
                    coalesce(array_agg(format('%I', g.tgname) ORDER BY g.tgname) FILTER (WHERE g.tgname IS NOT NULL), '{}'),
                    coalesce(array_agg(g.tgenabled = 'A' ORDER BY g.tgname) FILTER (WHERE g.tgname IS NOT NULL), '{}')
               FROM unnest($1::text[]) WITH ORDINALITY t(name, i)
               JOIN pg_catalog.pg_class c ON c.oid = to_regclass(t.name)
               LEFT JOIN pg_catalog.pg_trigger g
                 ON g.tgrelid = c.oid AND NOT g.tgisinternal AND g.tgenabled IN ('O', 'A')
              GROUP BY t.i, c.relforcerowsecurity",
            &[&names],
        )?;
        for row in rows {
            let i: i64 = row.get(0);
            let (names, always): (Vec<String>, Vec<bool>) = (row.get(2), row.get(3));
            targets[i as usize - 1] =
                Some(InsertTarget { forced: row.get(1), triggers: names.into_iter().zip(always).collect() });
        }
        Ok(InsertTargets { names, targets })
    }

    /// Takes table `i`'s target; fails when the new set lacks the table.
    fn take(&mut self, i: usize) -> anyhow::Result<InsertTarget> {
        self.targets[i].take().with_context(|| format!("table {} is missing from the new set", self.names[i]))
    }
}

/// The statements that put one table's carried rows in.
struct Insert {
    module: Option<String>,
    /// Lifts forced policies and turns off triggers, which already did their work in the chain.
    before: Vec<String>,
    /// The `INSERT`, without its `;`.
    insert: String,
    /// Undoes `before`.
    after: Vec<String>,
}

impl Insert {
    fn new(
        table: &Table,
        target: InsertTarget,
        object_modules: &HashMap<u32, Option<String>>,
        rows: &[String],
    ) -> Insert {
        let InsertTarget { forced, triggers } = target;
        // Policies a table forces on its owner could refuse or hide the rows: lift them meanwhile.
        let mut before = Vec::new();
        let mut after = Vec::new();
        if forced {
            before.push(format!("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY;", table.name));
        }
        for (name, always) in &triggers {
            before.push(format!("ALTER TABLE {} DISABLE TRIGGER {name};", table.name));
            let how = if *always { "ENABLE ALWAYS" } else { "ENABLE" };
            after.push(format!("ALTER TABLE {} {how} TRIGGER {name};", table.name));
        }
        if forced {
            after.push(format!("ALTER TABLE {} FORCE ROW LEVEL SECURITY;", table.name));
        }
        let module = object_modules.get(&table.oid).cloned().flatten();
        Insert { module, before, insert: insert_sql(table, rows), after }
    }
}

/// Returns the SQL that fills one group of tables, and the module whose data file it goes
/// into: the last in `module_order` among the group's (a group of tables whose keys form a
/// cycle is filled in one statement, with each table's insert in a `WITH`).
fn group_sql(inserts: Vec<Insert>, module_order: &[Option<String>]) -> Option<(Option<String>, String)> {
    let position = |m: &Option<String>| module_order.iter().position(|o| o == m).unwrap_or(module_order.len());
    let module = inserts.iter().map(|i| i.module.clone()).max_by_key(position)?;
    let lines = |pick: fn(&Insert) -> &Vec<String>| -> String {
        inserts.iter().flat_map(|i| pick(i).iter()).map(|l| format!("{l}\n")).collect()
    };
    let statement = match inserts.as_slice() {
        [one] => format!("{};\n", one.insert),
        [first @ .., last] => {
            let ctes: Vec<String> =
                first.iter().enumerate().map(|(n, i)| format!("rows_{} AS (\n{}\n)", n + 1, i.insert)).collect();
            format!(
                "-- These tables' foreign keys form a cycle; Postgres checks them at the end of a statement, so one \
                 statement fills them all.\nWITH {}\n{};\n",
                ctes.join(",\n"),
                last.insert
            )
        }
        [] => return None,
    };
    Some((module, format!("{}{statement}{}", lines(|i| &i.before), lines(|i| &i.after))))
}

/// Selects table number `k`'s rows as [`old_rows`] reads them: `k`, each row's comparable text
/// (`c`), its JSON (`j`) and its place (`r`).
fn source_query(k: usize, table: &Table, compare: &str) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| match table.json_columns.iter().find(|(j, _)| j == c) {
            Some(_) => format!("t.{c}::text AS {c}"),
            None => format!("t.{c}"),
        })
        .collect();
    format!(
        "SELECT {k} AS k, {compare} AS c, row_to_json(s)::text AS j, t.ctid AS r FROM ONLY {} t, LATERAL (SELECT {}) s",
        table.name,
        columns.join(", ")
    )
}

/// Returns `INSERT ... SELECT ... FROM json_populate_recordset(...)` for `rows` (JSON objects),
/// without the `;`.
fn insert_sql(table: &Table, rows: &[String]) -> String {
    let json = format!("[\n{}\n]", rows.join(",\n"));
    let tag = dollar_tag(&json);
    let columns = table.columns.join(", ");
    if table.json_columns.is_empty() {
        return format!(
            "INSERT INTO {name} ({columns}) OVERRIDING SYSTEM VALUE\nSELECT {columns} FROM json_populate_recordset(NULL::{name}, {tag}{json}{tag})",
            name = table.name
        );
    }
    let select: Vec<String> = table
        .columns
        .iter()
        .map(|c| match table.json_columns.iter().find(|(j, _)| j == c) {
            Some((_, ty)) => format!("(x->>{})::{ty}", quote_literal(&unquote(c))),
            None => format!("r.{c}"),
        })
        .collect();
    format!(
        "INSERT INTO {name} ({columns}) OVERRIDING SYSTEM VALUE\nSELECT {}\n  FROM json_array_elements({tag}{json}{tag}) x, json_populate_record(NULL::{name}, x) r",
        select.join(", "),
        name = table.name
    )
}

/// Returns a dollar-quote tag that does not occur in `text`.
fn dollar_tag(text: &str) -> String {
    let mut tag = "$json$".to_string();
    let mut n = 0;
    while text.contains(&tag) {
        n += 1;
        tag = format!("$json{n}$");
    }
    tag
}

/// Undoes `%I` quoting of a column name (the JSON keys are the plain names).
fn unquote(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_string(),
    }
}

fn conflict_message(table: &Table, extra: usize, set: &MigrationSet, kept_writes: &[KeptWrite]) -> String {
    let writers: Vec<&KeptWrite> = kept_writes.iter().filter(|w| w.table == table.name).collect();
    if writers.is_empty() {
        return format!(
            "table {}: the new set writes {extra} rows the old chain does not end with; check the kept migrations",
            table.name
        );
    }
    let kept: Vec<String> = writers.iter().map(|w| set.files[w.kept].label()).collect();
    let later: HashSet<String> =
        writers.iter().flat_map(|w| w.changed_by.iter().map(|&i| set.files[i].label())).collect();
    let mut later: Vec<String> = later.into_iter().collect();
    later.sort();
    format!(
        "table {}: kept migration {} writes {extra} rows that the old chain changed or removed later{}: fold those \
         changes into the kept migration, or remove its `{KEEP_MARKER}` line",
        table.name,
        kept.join(", "),
        if later.is_empty() { String::new() } else { format!(" (in {})", later.join(", ")) }
    )
}

/// Reads the columns of each of `tables` (`(oid, name)`) as the data migration needs them, in
/// one query.
fn describe(client: &mut Client, tables: &[(u32, String)]) -> anyhow::Result<Vec<Table>> {
    let oids: Vec<u32> = tables.iter().map(|(oid, _)| *oid).collect();
    let rows = client.query(
        "SELECT a.attrelid, format('%I', a.attname), format_type(a.atttypid, a.atttypmod),
                coalesce(bt.typname, t.typname) IN ('json', 'jsonb')
           FROM pg_catalog.pg_attribute a
           JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
          WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
          ORDER BY a.attrelid, a.attnum",
        &[&oids],
    )?;
    let mut described: HashMap<u32, Table> = tables
        .iter()
        .map(|(oid, name)| {
            (*oid, Table { oid: *oid, name: name.clone(), columns: Vec::new(), json_columns: Vec::new() })
        })
        .collect();
    for row in &rows {
        let table = described.get_mut(&row.get::<_, u32>(0)).context("a column of a table not asked for")?;
        let column: String = row.get(1);
        if row.get::<_, bool>(3) {
            table.json_columns.push((column.clone(), row.get(2)));
        }
        table.columns.push(column);
    }
    tables.iter().map(|(oid, _)| described.remove(oid).context("a table was asked for twice")).collect()
}

/// Where a sequence stands.
struct SequenceState {
    oid: u32,
    /// Qualified, quoted name.
    name: String,
    /// `(last_value, is_called)`.
    position: (i64, bool),
}

/// Returns the state of every user sequence.
fn sequence_states(client: &mut Client) -> anyhow::Result<Vec<SequenceState>> {
    let rows = client.query(
        "SELECT c.oid, format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                               AND d.refobjid = to_regclass($1))
          ORDER BY 2",
        &[&HISTORY_TABLE],
    )?;
    let names: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    let positions = positions(client, &names)?;
    Ok(rows
        .iter()
        .map(|row| {
            let name: String = row.get(1);
            let position = positions[&name];
            SequenceState { oid: row.get(0), name, position }
        })
        .collect())
}

/// Returns `(last_value, is_called)` of each of the sequences `names` (qualified, quoted), in
/// one query.
fn positions(client: &mut Client, names: &[String]) -> anyhow::Result<HashMap<String, (i64, bool)>> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let parts: Vec<String> =
        names.iter().map(|n| format!("SELECT {}::text, last_value, is_called FROM {n}", quote_literal(n))).collect();
    let rows = client.query(&parts.join(" UNION ALL "), &[])?;
    Ok(rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_a_dollar_tag_absent_from_the_rows() {
        assert_eq!(dollar_tag("[{\"a\":1}]"), "$json$");
        assert_eq!(dollar_tag("[{\"a\":\"$json$\"}]"), "$json1$");
    }

    #[test]
    fn reads_every_table_s_rows_as_json_objects_keyed_by_column_in_one_query() {
        let db = devdb::test_server().scratch_database("data_rows").unwrap();
        let mut client = db.connect();
        client
            .batch_execute(
                "CREATE TABLE a (id integer, \"Odd \"\"name\" text, doc jsonb, twice integer GENERATED ALWAYS AS (id * 2) STORED);
                 INSERT INTO a (id, \"Odd \"\"name\", doc) VALUES (2, 'x', 'null'), (1, NULL, '{\"k\": [1]}');
                 CREATE TABLE b (n numeric); INSERT INTO b VALUES (1.50);",
            )
            .unwrap();
        let oids: Vec<(u32, String)> = ["public.a", "public.b"]
            .iter()
            .map(|n| (client.query_one("SELECT to_regclass($1)::oid", &[n]).unwrap().get(0), n.to_string()))
            .collect();
        let tables = describe(&mut client, &oids).unwrap();
        let names: Vec<String> = oids.iter().map(|(_, n)| n.clone()).collect();
        let comparable = super::super::prove::comparable_rows(&mut client, &names).unwrap();
        let rows = old_rows(&mut client, &tables, &comparable).unwrap();
        let json: Vec<Vec<&str>> = rows.iter().map(|t| t.iter().map(|(_, j)| j.as_str()).collect()).collect();
        assert_eq!(
            json,
            [
                vec![r#"{"id":2,"Odd \"name":"x","doc":"null"}"#, r#"{"id":1,"Odd \"name":null,"doc":"{\"k\": [1]}"}"#],
                vec![r#"{"n":1.50}"#],
            ]
        );
        let counted = new_rows(&mut client, &tables, &comparable).unwrap();
        assert_eq!(counted.iter().map(|t| t.values().sum::<usize>()).collect::<Vec<_>>(), [2, 1]);
        assert!(matches!(rows_to_carry(rows[1].clone(), counted[1].clone()), Carry::Nothing));
        assert!(matches!(rows_to_carry(rows[1].clone(), HashMap::new()), Carry::Rows(r) if r.len() == 1));
    }

    #[test]
    fn unquotes_quoted_identifiers() {
        assert_eq!(unquote("\"Weird \"\"x\"\"\""), "Weird \"x\"");
        assert_eq!(unquote("plain"), "plain");
    }
}
