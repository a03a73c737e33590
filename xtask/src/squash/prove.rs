//! Proves two databases equal: the same `pg_dump --schema-only` and the same rows in every table.

use std::collections::BTreeMap;

use anyhow::Context;
use devdb::{Server, TestDatabase};
use postgres::Client;
use xshell::Shell;

use super::pg;

/// Fails with a readable difference unless `new` holds the same schema and rows as `old`, whose
/// schema dump (`pg_restore` of its archive) is `old_schema`; returns the columns compared as `*`
/// (see [`comparable_row`]).
pub fn prove(server: &Server, old_schema: &str, old: &TestDatabase, new: &TestDatabase) -> anyhow::Result<Vec<String>> {
    // pg_dump and the row hashes of both databases are independent: run them side by side.
    let (new_dump, old_rows, new_rows) = std::thread::scope(|scope| {
        let dump = scope.spawn(|| pg::dump_plain(&Shell::new()?, server, new).context("dump the new set's schema"));
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
    let new_dump = normalise(&new_dump?);
    let old_dump = normalise(old_schema);
    let ((old_rows, masked), (new_rows, _)) = (old_rows?, new_rows?);
    if old_dump != new_dump && blocks(&old_dump) != blocks(&new_dump) {
        anyhow::bail!(
            "the new set's schema differs from the old chain's (- old chain, + new set):\n{}",
            line_diff(&old_dump, &new_dump, 3, 400)
        );
    }
    if old_rows != new_rows {
        let mut differences = Vec::new();
        for (name, hash) in &old_rows {
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
    Ok(masked)
}

/// Drops the lines of a dump that differ between two dumps of one schema.
pub fn normalise(dump: &str) -> String {
    dump.lines()
        .filter(|l| {
            !(l.starts_with("\\restrict ")
                || l.starts_with("\\unrestrict ")
                || l.starts_with("-- Dumped from database version")
                || l.starts_with("-- Dumped by pg_dump version"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Splits a dump into its per-object blocks, sorted: pg_dump breaks ties between objects of one
/// name by OID, so two equal schemas can list such objects in different orders.
fn blocks(dump: &str) -> Vec<&str> {
    let mut blocks: Vec<&str> = dump.split("\n--\n-- Name: ").collect();
    blocks.sort_unstable();
    blocks
}

/// Returns `relation -> content hash` for every table and materialized view (rows) and sequence
/// (position), leaving out the runner's history, plus the columns left out of the comparison.
pub fn row_hashes(client: &mut Client) -> anyhow::Result<(BTreeMap<String, String>, Vec<String>)> {
    let relations = client.query(
        "SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text, c.relispopulated
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
            AND c.oid IS DISTINCT FROM to_regclass('refinery_schema_history')
          ORDER BY 1",
        &[],
    )?;
    let tables: Vec<String> = relations.iter().filter(|r| r.get::<_, String>(1) != "S").map(|r| r.get(0)).collect();
    let filled = filled_tables(client, &tables)?;
    let mut parts = Vec::new();
    let mut masked: Vec<(String, String)> = Vec::new();
    for r in &relations {
        let (name, kind, populated): (String, String, bool) = (r.get(0), r.get(1), r.get(2));
        let literal = super::provenance::quote_literal(&name);
        parts.push(match kind.as_str() {
            "S" => format!("SELECT {literal}::text, (SELECT last_value || ' ' || is_called FROM {name})"),
            "m" if !populated => format!("SELECT {literal}::text, 'not populated'"),
            _ if !filled.contains(&name) => format!("SELECT {literal}::text, 'empty'"),
            _ => {
                let row = comparable_row(client, &name)?;
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
        .map(|t| {
            format!("SELECT {}::text FROM (SELECT 1 FROM ONLY {t} LIMIT 1) s", super::provenance::quote_literal(t))
        })
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

/// Returns how to compare rows of `table` (a qualified, quoted name). Columns filled by a
/// volatile default (a timestamp of the build, a random id) cannot match between two builds, so
/// they are compared as `*`; rows are copied with their values all the same.
pub fn comparable_row(client: &mut Client, table: &str) -> anyhow::Result<ComparableRow> {
    let columns = client.query(
        "SELECT format('%I', a.attname),
                d.adbin IS NOT NULL AND a.attgenerated = '' AND (
                  pg_get_expr(d.adbin, d.adrelid) ~ '\\m(CURRENT_DATE|CURRENT_TIME|CURRENT_TIMESTAMP|LOCALTIME|LOCALTIMESTAMP)\\M'
                  OR EXISTS (SELECT 1 FROM regexp_matches(pg_get_expr(d.adbin, d.adrelid), '([A-Za-z_][A-Za-z0-9_]*)\\(', 'g') m
                               JOIN pg_catalog.pg_proc p ON p.proname = m[1]
                              WHERE p.provolatile <> 'i' AND p.proname <> 'nextval'))
           FROM pg_catalog.pg_attribute a
           LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum",
        &[&table],
    )?;
    let masked: Vec<String> = columns.iter().filter(|r| r.get::<_, bool>(1)).map(|r| r.get(0)).collect();
    if masked.is_empty() {
        return Ok(ComparableRow { expr: "t::text".to_string(), masked });
    }
    let values: Vec<String> = columns
        .iter()
        .map(|r| if r.get::<_, bool>(1) { "'*'".to_string() } else { format!("t.{}", r.get::<_, String>(0)) })
        .collect();
    Ok(ComparableRow { expr: format!("ROW({})::text", values.join(", ")), masked })
}

/// Returns a unified-style diff of two texts (`-` old, `+` new) with `context` lines around each
/// change, cut after `limit` lines.
pub fn line_diff(old: &str, new: &str, context: usize, limit: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    // Edit script over the differing middle: (tag, line) with ' ', '-', '+'.
    let mut script: Vec<(char, &str)> = a[..prefix].iter().map(|l| (' ', *l)).collect();
    if ma.len() * mb.len() <= 4_000_000 {
        let mut lcs = vec![vec![0u32; mb.len() + 1]; ma.len() + 1];
        for i in (0..ma.len()).rev() {
            for j in (0..mb.len()).rev() {
                lcs[i][j] = if ma[i] == mb[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < ma.len() || j < mb.len() {
            if i < ma.len() && j < mb.len() && ma[i] == mb[j] {
                script.push((' ', ma[i]));
                i += 1;
                j += 1;
            } else if j < mb.len() && (i == ma.len() || lcs[i][j + 1] > lcs[i + 1][j]) {
                script.push(('+', mb[j]));
                j += 1;
            } else {
                script.push(('-', ma[i]));
                i += 1;
            }
        }
    } else {
        script.extend(ma.iter().map(|l| ('-', *l)));
        script.extend(mb.iter().map(|l| ('+', *l)));
    }
    script.extend(a[a.len() - suffix..].iter().map(|l| (' ', *l)));

    let changed: Vec<usize> = script.iter().enumerate().filter(|(_, (t, _))| *t != ' ').map(|(i, _)| i).collect();
    let mut out = Vec::new();
    let mut last_shown: Option<usize> = None;
    for &c in &changed {
        let start = c.saturating_sub(context);
        let end = (c + context + 1).min(script.len());
        let from = match last_shown {
            Some(l) if l + 1 >= start => l + 1,
            Some(_) | None => {
                let old_line = script[..start].iter().filter(|(t, _)| *t != '+').count() + 1;
                out.push(format!("@@ line {old_line} @@"));
                start
            }
        };
        for (tag, line) in script.iter().take(end).skip(from) {
            out.push(format!("{tag}{line}"));
        }
        last_shown = Some(end - 1);
        if out.len() > limit {
            out.truncate(limit);
            out.push("... (diff cut)".to_string());
            break;
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng";
        let new = "a\nb\nc\nD\ne\nf\ng\nh";
        assert_eq!(line_diff(old, new, 1, 100), "@@ line 3 @@\n c\n-d\n+D\n e\n@@ line 7 @@\n g\n+h");
    }

    #[test]
    fn normalising_drops_restrict_keys_and_versions() {
        let dump = "\\restrict abc\n-- Dumped from database version 15.1\nCREATE TABLE a ();\n\\unrestrict abc";
        assert_eq!(normalise(dump), "CREATE TABLE a ();");
    }
}
