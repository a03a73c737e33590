//! Proves two databases equal: the same `pg_dump --schema-only` and the same rows in every table.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use devdb::{Change, Privileges, Schema, Server, TestDatabase};
use migrator::migrate::HISTORY_TABLE;
use postgres::Client;

/// Fails with a readable difference unless `new` holds the same schema and rows as `old`, whose
/// schema (`pg_restore` of its archive) is `old_schema`; returns the columns compared as `*`
/// (see [`comparable_rows`]). A squash does the same in steps, overlapping them with its work.
#[cfg(test)]
pub fn prove(
    server: &Server,
    old_schema: &Schema,
    old: &TestDatabase,
    new: &TestDatabase,
) -> anyhow::Result<Vec<String>> {
    // pg_dump and the row hashes of both databases are independent: run them side by side.
    let (new_schema, old_rows, new_rows) = std::thread::scope(|scope| {
        let dump = scope.spawn(|| schema_of(server, new));
        let old_rows = scope.spawn(|| row_hashes(&mut old.try_connect()?).context("hash the old chain's rows"));
        let new_rows = new
            .try_connect()
            .map_err(anyhow::Error::from)
            .and_then(|mut client| row_hashes(&mut client))
            .context("hash the new set's rows");
        let dump = dump.join().unwrap_or_else(|_| Err(anyhow::anyhow!("pg_dump thread panicked")));
        let old_rows = old_rows.join().unwrap_or_else(|_| Err(anyhow::anyhow!("row hash thread panicked")));
        (dump, old_rows, new_rows)
    });
    compare(old_schema, &new_schema?, &old_rows?, &new_rows?, || Ok(None))
}

/// Rows as [`row_hashes`] sums them up: `relation -> hash`, and the columns compared as `*`.
pub type RowHashes = (BTreeMap<String, String>, Vec<String>);

/// Fails with a readable difference unless the new set's schema and rows are the old chain's;
/// returns the columns compared as `*`. A schema difference names each object that differs;
/// `restored` gives, when asked, the schema of a plain `pg_restore` of the chain's dump, so that
/// the message can say which objects pg_dump's text does not rebuild at all.
pub fn compare(
    old_schema: &Schema,
    new_schema: &Schema,
    (old_rows, masked): &RowHashes,
    (new_rows, _): &RowHashes,
    restored: impl FnOnce() -> anyhow::Result<Option<Schema>>,
) -> anyhow::Result<Vec<String>> {
    if let Some(diff) = old_schema.diff(new_schema) {
        let differing = old_schema.differing_objects(new_schema);
        // What a plain restore of the chain's dump changes, and what the new set builds as such
        // a restore does (pg_dump's text is all it had to go on there).
        let (restored, unknown) = match restored() {
            Ok(restored) => (restored, None),
            Err(e) => (
                None,
                Some(format!("  (whether a plain pg_dump and pg_restore rebuilds them could not be told: {e:#})")),
            ),
        };
        let names =
            |a: &Schema, b: &Schema| -> Vec<String> { a.differing_objects(b).into_iter().map(|d| d.name).collect() };
        let (drifting, unlike_restore) =
            restored.map(|r| (names(old_schema, &r), names(&r, new_schema))).unwrap_or_default();
        let lines: Vec<String> = differing
            .iter()
            .map(|d| {
                let what = match d.change {
                    Change::Differs => "the new set builds it differently",
                    Change::Missing => "the new set lacks it",
                    Change::Added => "only the new set has it",
                };
                let why = match (drifting.contains(&d.name), unlike_restore.contains(&d.name)) {
                    (true, false) => {
                        ", as a plain pg_dump and pg_restore of the chain's database does: pg_dump prints it as text \
                         that Postgres reads back as another definition, and squash does not know how to write it so \
                         that it reads back as the chain built it"
                    }
                    (true, true) => {
                        "; a plain pg_dump and pg_restore of the chain's database does not rebuild it either"
                    }
                    _ => "",
                };
                format!("  {}: {what}{why}", d.name)
            })
            .chain(unknown)
            .collect();
        anyhow::bail!(
            "the new set's schema differs from the old chain's in {} object{}:\n{}\n(- old chain, + new set):\n{diff}",
            differing.len(),
            if differing.len() == 1 { "" } else { "s" },
            lines.join("\n")
        );
    }
    if old_rows != new_rows {
        let mut differences = Vec::new();
        for (name, hash) in old_rows {
            match new_rows.get(name) {
                None => differences.push(format!("  {name}: missing from the new set")),
                Some(h) if h != hash => differences.push(format!("  {name}: rows differ")),
                Some(_) => {}
            }
        }
        for name in new_rows.keys().filter(|n| !old_rows.contains_key(*n)) {
            differences.push(format!("  {name}: only in the new set"));
        }
        anyhow::bail!("the new set's rows differ from the old chain's:\n{}", differences.join("\n"));
    }
    Ok(masked.clone())
}

/// Dumps the schema of `db`, grants included, as the proof compares it.
pub fn schema_of(server: &Server, db: &TestDatabase) -> anyhow::Result<Schema> {
    Schema::dump_with(server, db.name(), &[], Privileges::Included).context("dump the new set's schema")
}

/// Returns `relation -> content hash` for every table and materialized view (rows) and sequence
/// (position), leaving out the runner's history, plus the columns left out of the comparison.
pub fn row_hashes(client: &mut Client) -> anyhow::Result<RowHashes> {
    // Rows hidden by row-level security would be missed silently: fail instead.
    client.batch_execute("SET row_security = off")?;
    let relations = client.query(
        "SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text, c.relispopulated
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
            AND c.oid IS DISTINCT FROM to_regclass($1)
          ORDER BY 1",
        &[&HISTORY_TABLE],
    )?;
    let tables: Vec<String> = relations.iter().filter(|r| r.get::<_, String>(1) != "S").map(|r| r.get(0)).collect();
    let filled = filled_tables(client, &tables)?;
    let filled_names: Vec<String> = tables.iter().filter(|t| filled.contains(*t)).cloned().collect();
    let mut comparable: HashMap<String, ComparableRow> =
        filled_names.iter().cloned().zip(comparable_rows(client, &filled_names)?).collect();
    let mut parts = Vec::new();
    let mut masked: Vec<(String, String)> = Vec::new();
    for r in &relations {
        let (name, kind, populated): (String, String, bool) = (r.get(0), r.get(1), r.get(2));
        let literal = migrator::sql::quote_literal(&name);
        parts.push(match kind.as_str() {
            "S" => format!("SELECT {literal}::text, (SELECT last_value || ' ' || is_called FROM {name})"),
            "m" if !populated => format!("SELECT {literal}::text, 'not populated'"),
            _ if !filled.contains(&name) => format!("SELECT {literal}::text, 'empty'"),
            _ => {
                let row = comparable.remove(&name).context("a filled table was not described")?;
                masked.extend(row.masked.iter().map(|c| (name.clone(), format!("{name}.{c}"))));
                format!(
                    "SELECT {literal}::text, (SELECT md5(coalesce(string_agg({e}, E'\\n' ORDER BY {e}), '')) FROM ONLY {name} t)",
                    e = row.expr
                )
            }
        });
    }
    if parts.is_empty() {
        return Ok((BTreeMap::new(), Vec::new()));
    }
    let rows = client.query(&parts.join(" UNION ALL "), &[])?;
    let hashes: BTreeMap<String, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok((hashes, masked.into_iter().map(|(_, c)| c).collect()))
}

/// Returns those of `tables` (qualified, quoted names) that hold at least one row.
pub fn filled_tables(client: &mut Client, tables: &[String]) -> anyhow::Result<std::collections::HashSet<String>> {
    if tables.is_empty() {
        return Ok(Default::default());
    }
    let parts: Vec<String> = tables
        .iter()
        .map(|t| format!("SELECT {}::text FROM (SELECT 1 FROM ONLY {t} LIMIT 1) s", migrator::sql::quote_literal(t)))
        .collect();
    let rows = client.query(&parts.join(" UNION ALL "), &[])?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// How to compare a table's rows between two builds.
pub struct ComparableRow {
    /// SQL giving a row's text from alias `t`: `t::text`, or a `ROW(...)` without masked columns.
    pub expr: String,
    /// Columns whose default is not immutable (`now()`, ...): each build writes its own value.
    pub masked: Vec<String>,
}

/// Returns how to compare rows of each of `tables` (qualified, quoted names), in their order, in
/// one query. Columns filled by a volatile default (a timestamp of the build, a random id), of
/// the table or of a partitioned table it is a partition of, cannot match between two builds, so
/// they are compared as `*`; rows are copied with their values all the same.
pub fn comparable_rows(client: &mut Client, tables: &[String]) -> anyhow::Result<Vec<ComparableRow>> {
    // The defaults of the tables and of the partitioned tables they are partitions of, read once:
    // a test per column costs a catalog scan each, which on a wide schema is most of the step.
    let columns = client.query(
        "WITH t AS (SELECT i, to_regclass(name) AS rel FROM unnest($1::text[]) WITH ORDINALITY u(name, i)),
              rels AS (SELECT i, rel FROM t
                       UNION SELECT t.i, a.relid FROM t, pg_catalog.pg_partition_ancestors(t.rel) a),
              defaults AS (SELECT r.i, pa.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS expr
                             FROM rels r
                             JOIN pg_catalog.pg_attrdef d ON d.adrelid = r.rel
                             JOIN pg_catalog.pg_attribute pa ON pa.attrelid = d.adrelid AND pa.attnum = d.adnum),
              volatile AS (SELECT DISTINCT i, attname FROM defaults
                            WHERE expr ~ '\\m(CURRENT_DATE|CURRENT_TIME|CURRENT_TIMESTAMP|LOCALTIME|LOCALTIMESTAMP)\\M'
                               OR EXISTS (SELECT 1 FROM regexp_matches(expr, '([A-Za-z_][A-Za-z0-9_]*)\\(', 'g') m
                                            JOIN pg_catalog.pg_proc p ON p.proname = m[1]
                                           WHERE p.provolatile <> 'i' AND p.proname <> 'nextval'))
         SELECT t.i, format('%I', a.attname), a.attgenerated = '' AND v.attname IS NOT NULL
           FROM t
           JOIN pg_catalog.pg_attribute a ON a.attrelid = t.rel
           LEFT JOIN volatile v ON v.i = t.i AND v.attname = a.attname
          WHERE a.attnum > 0 AND NOT a.attisdropped
          ORDER BY t.i, a.attnum",
        &[&tables],
    )?;
    let mut by_table: Vec<Vec<(String, bool)>> = vec![Vec::new(); tables.len()];
    for row in &columns {
        let i: i64 = row.get(0);
        by_table[i as usize - 1].push((row.get(1), row.get(2)));
    }
    Ok(by_table
        .into_iter()
        .map(|columns| {
            let masked: Vec<String> = columns.iter().filter(|(_, m)| *m).map(|(c, _)| c.clone()).collect();
            if masked.is_empty() {
                return ComparableRow { expr: "t::text".to_string(), masked };
            }
            let values: Vec<String> =
                columns.iter().map(|(c, m)| if *m { "'*'".to_string() } else { format!("t.{c}") }).collect();
            ComparableRow { expr: format!("ROW({})::text", values.join(", ")), masked }
        })
        .collect())
}
