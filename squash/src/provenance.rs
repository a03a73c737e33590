//! Replays a migration chain into a scratch database, recording which migration created each object.
//!
//! OIDs come from one counter that only grows, so every object a migration creates has an OID at
//! or above the counter's value before it ran. Recording that watermark after each migration is
//! enough to name the creator of any object later. The watermark is read with `pg_nextoid` (one
//! cheap call, for superusers), else as one more than the highest OID in the catalogs (for other
//! roles, `pg_user_mapping` through its view `pg_user_mappings`, the one catalog they cannot read).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use migrator::migrate::HISTORY_TABLE;
use migrator::migrations::{MigrationFile, MigrationSet};
use migrator::sql::quote_literal;
use postgres::Client;

/// Which migration created what, learnt by replaying a chain.
pub struct Provenance {
    /// Objects the first `k` migrations created have OIDs below `marks[k]`; later ones at or above.
    marks: Vec<u32>,
    /// Objects of the runner's history table, which belong to no module.
    pub history_oids: HashSet<u32>,
    /// Tables each kept migration wrote rows into, with the later migrations that changed them.
    pub kept_writes: Vec<KeptWrite>,
    /// Time the migrations themselves took (the replay without this bookkeeping).
    pub chain_time: Duration,
}

/// A table a kept migration wrote rows into.
#[derive(Debug, Clone)]
pub struct KeptWrite {
    pub table: String,
    /// Index of the kept migration in the set.
    pub kept: usize,
    /// Indexes of later, unmarked migrations that changed the table's rows.
    pub changed_by: Vec<usize>,
}

impl Provenance {
    /// Returns the index (in the set) of the migration that created the object with `oid`,
    /// `None` for objects that existed before the first migration.
    pub fn origin(&self, oid: u32) -> Option<usize> {
        // k marks at or below the OID: the object appeared during migration k-1.
        let k = self.marks.partition_point(|mark| *mark <= oid);
        (k >= 1 && k < self.marks.len()).then(|| k - 1)
    }
}

/// An object a kept migration created, with the fingerprint it had right after.
struct Watched {
    kept: usize,
    description: String,
    fingerprint: String,
}

/// Replays `set` into the empty database behind `client`, learning provenance on the way.
///
/// Fails when a later, unmarked migration alters or drops an object a kept migration created:
/// kept migrations run after every generated file, so such a change could not be replayed.
pub fn replay(client: &mut Client, set: &MigrationSet) -> anyhow::Result<Provenance> {
    replay_with(client, set, true)
}

/// Replays like [`replay`]; `next_oid: false` reads watermarks from the catalogs even where
/// `pg_nextoid` is allowed (as for a server user that is not a superuser).
pub fn replay_with(client: &mut Client, set: &MigrationSet, next_oid: bool) -> anyhow::Result<Provenance> {
    let started = Instant::now();
    let mut bookkeeping = Duration::ZERO;
    let watermark = Watermark::new(client, next_oid)?;
    let index_of: HashMap<i32, usize> = set.files.iter().enumerate().map(|(i, f)| (f.version, i)).collect();

    let mut marks = vec![watermark.read(client, 0)?];
    let mut watched: BTreeMap<u32, Watched> = BTreeMap::new();
    let mut conflicts: Vec<String> = Vec::new();
    let mut kept_writes: Vec<KeptWrite> = Vec::new();
    let mut kept_hashes: HashMap<String, String> = HashMap::new();
    let mut before_kept: Option<HashMap<String, String>> = None;
    if set.files.first().is_some_and(|f| f.keep) {
        before_kept = Some(table_hashes(client, None)?);
    }
    let mut failure: Option<anyhow::Error> = None;

    let mut after_each = |client: &mut Client, file: &MigrationFile| -> migrator::Result<()> {
        let tick = Instant::now();
        let result = (|| -> anyhow::Result<()> {
            let i = *index_of.get(&file.version).context("runner reported an unknown migration")?;
            let low = *marks.last().expect("marks start with one entry");
            let high = watermark.read(client, low)?.max(low);
            marks.push(high);

            // Objects kept migrations created must look the same after every later migration.
            if !watched.is_empty() {
                let now = fingerprints(client, &watched.keys().copied().collect::<Vec<_>>())?;
                for (oid, w) in watched.iter_mut() {
                    let what = match now.get(oid) {
                        None => "drops",
                        Some((_, fp)) if *fp != w.fingerprint => "alters",
                        Some(_) => continue,
                    };
                    // A later kept migration runs after it in the new set too, so it may change it.
                    if !file.keep {
                        conflicts.push(format!(
                            "migration {} {what} {}, which kept migration {} created: fold the change into {} \
                             (or remove its `{}` line so the object is squashed with its module)",
                            set.files[i].label(),
                            w.description,
                            set.files[w.kept].label(),
                            set.files[w.kept].path.display(),
                            migrator::migrations::KEEP_MARKER,
                        ));
                    }
                    if let Some((_, fp)) = now.get(oid) {
                        w.fingerprint = fp.clone();
                    }
                }
                watched.retain(|oid, _| now.contains_key(oid));
            }
            // Rows kept migrations wrote: note which unmarked migrations change those tables later.
            if !kept_hashes.is_empty() {
                let tables: Vec<String> = kept_hashes.keys().cloned().collect();
                let now = table_hashes(client, Some(&tables))?;
                for (table, hash) in now {
                    if kept_hashes.get(&table) != Some(&hash) {
                        if !file.keep {
                            for write in kept_writes.iter_mut().filter(|w| w.table == table) {
                                write.changed_by.push(i);
                            }
                        }
                        kept_hashes.insert(table, hash);
                    }
                }
            }
            if file.keep {
                for (oid, (description, fingerprint)) in fingerprints_created(client, low, high)? {
                    watched.insert(oid, Watched { kept: i, description, fingerprint });
                }
                let before = before_kept.take().unwrap_or_default();
                for (table, hash) in table_hashes(client, None)? {
                    if before.get(&table) != Some(&hash) {
                        kept_writes.push(KeptWrite { table: table.clone(), kept: i, changed_by: Vec::new() });
                        kept_hashes.insert(table, hash);
                    }
                }
            }
            if set.files.get(i + 1).is_some_and(|next| next.keep) {
                before_kept = Some(table_hashes(client, None)?);
            }
            Ok(())
        })();
        bookkeeping += tick.elapsed();
        result.map_err(|e| {
            let message = format!("{e:#}");
            failure = Some(e);
            migrator::Error::Invalid(format!("recording provenance after {}: {message}", file.label()))
        })
    };
    let applied = migrator::migrate::migrate_each(client, set, &mut after_each);
    if let Some(e) = failure {
        return Err(e.context("record provenance"));
    }
    applied?;
    if !conflicts.is_empty() {
        anyhow::bail!("{}", conflicts.join("\n"));
    }
    let history_oids = history_oids(client)?;
    let chain_time = started.elapsed().saturating_sub(bookkeeping);
    Ok(Provenance { marks, history_oids, kept_writes, chain_time })
}

/// Reads where the OID counter stands.
enum Watermark {
    /// `pg_nextoid` hands out the counter's next value (superusers only; writes nothing).
    NextOid(postgres::Statement),
    /// One more than the highest OID in every per-database catalog, above a previous mark.
    MaxOid(postgres::Statement),
}

impl Watermark {
    fn new(client: &mut Client, next_oid: bool) -> anyhow::Result<Watermark> {
        let next = client
            .prepare("SELECT pg_catalog.pg_nextoid('pg_catalog.pg_class', 'oid', 'pg_catalog.pg_class_oid_index')")?;
        if next_oid && client.query_one(&next, &[]).is_ok() {
            return Ok(Watermark::NextOid(next));
        }
        let rows = client.query(
            "SELECT c.relname::text, pg_catalog.has_table_privilege(c.oid, 'SELECT')
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'oid' AND a.attnum > 0
              WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' AND NOT c.relisshared
              ORDER BY 1",
            &[],
        )?;
        // GREATEST over scalar subqueries starts up faster than a UNION of the same scans.
        let parts: Vec<String> = rows
            .iter()
            .filter_map(|r| {
                let (catalog, readable): (String, bool) = (r.get(0), r.get(1));
                match (catalog.as_str(), readable) {
                    (_, true) => Some(format!("(SELECT max(oid) FROM pg_catalog.{catalog} WHERE oid >= $1)")),
                    // Only superusers read this catalog; its view shows every row's OID to anyone.
                    ("pg_user_mapping", false) => {
                        Some("(SELECT max(umid) FROM pg_catalog.pg_user_mappings WHERE umid >= $1)".to_string())
                    }
                    // No other catalog with OIDs is closed to a database's owner.
                    (_, false) => None,
                }
            })
            .collect();
        anyhow::ensure!(!parts.is_empty(), "no system catalogs with OIDs found");
        Ok(Watermark::MaxOid(client.prepare(&format!("SELECT GREATEST({})", parts.join(", ")))?))
    }

    /// Returns the mark: every existing object's OID is below it, every later one at or above.
    fn read(&self, client: &mut Client, last: u32) -> anyhow::Result<u32> {
        Ok(match self {
            Watermark::NextOid(next) => client.query_one(next, &[])?.get(0),
            Watermark::MaxOid(max) => match client.query_one(max, &[&last])?.get::<_, Option<u32>>(0) {
                Some(highest) => highest.saturating_add(1),
                None => last,
            },
        })
    }
}

/// Fingerprints of the relations, functions and types in the OID range `[low, high)`.
fn fingerprints_created(client: &mut Client, low: u32, high: u32) -> anyhow::Result<HashMap<u32, (String, String)>> {
    let rows = client.query(
        // Temporary objects (the runner's progress sequence, a migration's scratch table) end with the session.
        "SELECT oid FROM pg_catalog.pg_class WHERE oid >= $1 AND oid < $2 AND relkind IN ('r','p','v','m','S','f','c')
           AND relpersistence <> 't'
         UNION ALL SELECT oid FROM pg_catalog.pg_proc WHERE oid >= $1 AND oid < $2
         UNION ALL SELECT oid FROM pg_catalog.pg_type WHERE oid >= $1 AND oid < $2 AND typtype IN ('e','d','r')",
        &[&low, &high],
    )?;
    let oids: Vec<u32> = rows.iter().map(|r| r.get(0)).collect();
    fingerprints(client, &oids)
}

/// Returns `oid -> (description, fingerprint)` for those of `oids` that still exist.
fn fingerprints(client: &mut Client, oids: &[u32]) -> anyhow::Result<HashMap<u32, (String, String)>> {
    let rows = client.query(FINGERPRINTS, &[&oids])?;
    Ok(rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect())
}

/// Everything a later migration could change about a relation, function or type.
const FINGERPRINTS: &str = "
SELECT c.oid, pg_catalog.pg_describe_object('pg_class'::regclass, c.oid, 0),
  md5(concat_ws(E'\\x1f', c.relname, c.relkind, c.relnamespace::regnamespace::text,
    pg_catalog.obj_description(c.oid, 'pg_class'),
    (SELECT string_agg(concat_ws(':', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
            a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)), ','
            ORDER BY a.attnum)
       FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ',' ORDER BY conname)
       FROM pg_catalog.pg_constraint WHERE conrelid = c.oid),
    (SELECT string_agg(pg_get_indexdef(indexrelid), ',' ORDER BY 1) FROM pg_catalog.pg_index WHERE indrelid = c.oid),
    (SELECT string_agg(pg_get_triggerdef(oid), ',' ORDER BY 1) FROM pg_catalog.pg_trigger
      WHERE tgrelid = c.oid AND NOT tgisinternal),
    (SELECT string_agg(pg_get_ruledef(oid), ',' ORDER BY 1) FROM pg_catalog.pg_rewrite WHERE ev_class = c.oid),
    (SELECT row(seqtypid, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle)::text
       FROM pg_catalog.pg_sequence WHERE seqrelid = c.oid)))
FROM pg_catalog.pg_class c WHERE c.oid = ANY($1)
UNION ALL
SELECT p.oid, pg_catalog.pg_describe_object('pg_proc'::regclass, p.oid, 0),
  md5(concat_ws(E'\\x1f', CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
    pg_catalog.obj_description(p.oid, 'pg_proc')))
FROM pg_catalog.pg_proc p WHERE p.oid = ANY($1)
UNION ALL
SELECT t.oid, pg_catalog.pg_describe_object('pg_type'::regclass, t.oid, 0),
  md5(concat_ws(E'\\x1f', format_type(t.oid, NULL), t.typnotnull, pg_get_expr(t.typdefaultbin, 0),
    (SELECT string_agg(enumlabel::text, ',' ORDER BY enumsortorder) FROM pg_catalog.pg_enum WHERE enumtypid = t.oid),
    (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ',' ORDER BY conname)
       FROM pg_catalog.pg_constraint WHERE contypid = t.oid),
    pg_catalog.obj_description(t.oid, 'pg_type')))
FROM pg_catalog.pg_type t WHERE t.oid = ANY($1)";

/// Returns `table -> md5 of its rows` for every user table, or for `only` those tables.
pub fn table_hashes(client: &mut Client, only: Option<&[String]>) -> anyhow::Result<HashMap<String, String>> {
    let mut tables = user_tables(client)?;
    if let Some(only) = only {
        // A table may have been dropped since it was noted.
        tables.retain(|t| only.contains(t));
    }
    if tables.is_empty() {
        return Ok(HashMap::new());
    }
    let parts: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                "SELECT {lit}::text, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM ONLY {t} t",
                lit = quote_literal(t)
            )
        })
        .collect();
    let rows = client.query(&parts.join(" UNION ALL "), &[])?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Returns the qualified, quoted names of the tables migrations made (not the runner's history).
pub fn user_tables(client: &mut Client) -> anyhow::Result<Vec<String>> {
    let rows = client.query(
        "SELECT format('%I.%I', n.nspname, c.relname)
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
            AND c.oid IS DISTINCT FROM to_regclass($1)
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
          ORDER BY 1",
        &[&HISTORY_TABLE],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Returns the OIDs of the runner's history table and everything that hangs off it.
fn history_oids(client: &mut Client) -> anyhow::Result<HashSet<u32>> {
    let rows = client.query(
        "WITH h AS (SELECT to_regclass($1)::oid AS oid)
         SELECT oid FROM h WHERE oid IS NOT NULL
         UNION SELECT c.reltype FROM pg_catalog.pg_class c, h WHERE c.oid = h.oid
         UNION SELECT t.typarray FROM pg_catalog.pg_class c JOIN pg_catalog.pg_type t ON t.oid = c.reltype, h WHERE c.oid = h.oid
         UNION SELECT c.oid FROM pg_catalog.pg_constraint c, h WHERE c.conrelid = h.oid
         UNION SELECT i.indexrelid FROM pg_catalog.pg_index i, h WHERE i.indrelid = h.oid
         UNION SELECT d.objid FROM pg_catalog.pg_depend d, h WHERE d.refobjid = h.oid",
        &[&HISTORY_TABLE],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
