//! Decides which generated file each dumped object goes into, and the order of the files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use migrator::migrations::{MigrationSet, KEEP_MARKER};

use super::provenance::Provenance;
use super::toc::TocEntry;

/// Entry kinds a generated migration may contain; anything else stops the squash.
pub const SUPPORTED_KINDS: &[&str] = &[
    "SCHEMA",
    "EXTENSION",
    "TYPE",
    "SHELL TYPE",
    "DOMAIN",
    "COLLATION",
    "FUNCTION",
    "PROCEDURE",
    "AGGREGATE",
    "TABLE",
    "TABLE ATTACH",
    "SEQUENCE",
    "SEQUENCE OWNED BY",
    "DEFAULT",
    "CONSTRAINT",
    "CHECK CONSTRAINT",
    "FK CONSTRAINT",
    "INDEX",
    "INDEX ATTACH",
    "VIEW",
    "MATERIALIZED VIEW",
    "TRIGGER",
    "RULE",
    "ROW SECURITY",
    "POLICY",
    "COMMENT",
    "ACL",
    "DEFAULT ACL",
    "PUBLICATION",
    "PUBLICATION TABLE",
    "PUBLICATION TABLES IN SCHEMA",
    "OPERATOR",
    "OPERATOR CLASS",
    "OPERATOR FAMILY",
    "CAST",
    "CONVERSION",
    "TRANSFORM",
    "ACCESS METHOD",
    "PROCEDURAL LANGUAGE",
    "STATISTICS",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "TEXT SEARCH PARSER",
    "TEXT SEARCH TEMPLATE",
    "FOREIGN DATA WRAPPER",
    "SERVER",
    "FOREIGN TABLE",
    "SECURITY LABEL",
];

/// Entry kinds a generated migration cannot hold, and why: a squashed set could not be proven
/// to build the same, or must not hold what they carry.
const REFUSED_KINDS: &[(&str, &str)] = &[
    ("SUBSCRIPTION", "a subscription pulls rows from another server, which no proof here can compare"),
    (
        "USER MAPPING",
        "a user mapping holds the credentials for another server, which must not be copied into a migration",
    ),
    (
        "EVENT TRIGGER",
        "an event trigger fires on the DDL that follows it, which in a squashed set is other modules' too",
    ),
    ("LARGE OBJECT", "large objects are rows, not schema"),
    ("BLOB", "large objects are rows, not schema"),
    ("BLOB METADATA", "large objects are rows, not schema"),
];

/// Entries that set up the dump session rather than create objects.
const SESSION_KINDS: &[&str] = &["ENCODING", "STDSTRINGS", "SEARCHPATH", "DATABASE"];

/// What a file of the new set is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A module's schema, generated from the dump.
    Initial,
    /// Foreign keys split out of modules whose keys reference each other in a cycle.
    ForeignKeys,
    /// A migration carrying the keep marker, copied unchanged.
    Kept,
    /// Rows the old chain left behind, generated.
    Data,
}

/// One file of the new set, before it has a version number.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub module: Option<String>,
    /// Refinery's name: the part after `V<n>__`.
    pub name: String,
    pub kind: FileKind,
    /// Indexes into the archive's entries (generated schema files).
    pub entries: Vec<usize>,
    /// Index into the old set (kept files).
    pub kept: Option<usize>,
}

/// Where every dumped object goes.
pub struct Plan {
    pub files: Vec<PlannedFile>,
    /// Modules in the order their initial migrations run.
    pub module_order: Vec<Option<String>>,
    /// OID of every dumped object -> the module of the migration that created it.
    pub object_modules: HashMap<u32, Option<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Session settings and the runner's own table.
    Skip,
    /// Created by this migration (index into the set).
    Migration(usize),
}

/// Assigns each archive entry to a file: one initial file per module in dependency order, a
/// foreign-key file for modules whose keys form a cycle, then the kept migrations.
pub fn plan(entries: &[TocEntry], provenance: &Provenance, set: &MigrationSet) -> anyhow::Result<Plan> {
    let by_id: HashMap<u32, usize> = entries.iter().enumerate().map(|(i, e)| (e.dump_id, i)).collect();
    let fallback = set.files.iter().position(|f| !f.keep);
    let mut origins: Vec<Option<Origin>> = vec![None; entries.len()];
    // Entries that are not objects of their own (comments, ...) follow the entry they depend on.
    let mut parents: Vec<Option<usize>> = vec![None; entries.len()];
    for i in 0..entries.len() {
        resolve(i, entries, &by_id, provenance, fallback, &mut origins, &mut parents, 0)?;
    }
    let origin = |i: usize| origins[i].unwrap_or(Origin::Skip);
    let is_kept = |i: usize| matches!(origin(i), Origin::Migration(k) if set.files[k].keep);
    let label = |k: usize| set.files[k].label();

    let mut problems = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Origin::Migration(k) = origin(i) else { continue };
        if is_kept(i) {
            continue;
        }
        if !SUPPORTED_KINDS.contains(&e.kind.as_str()) {
            let why = REFUSED_KINDS
                .iter()
                .find(|(kind, _)| *kind == e.kind)
                .map_or("squash does not generate that kind of object", |(_, why)| why);
            problems.push(format!(
                "migration {} ({}) creates {}, which squash cannot carry: {why}; mark that migration with a \
                 `{KEEP_MARKER}` line so it stays as its own file, or remove the object",
                label(k),
                set.files[k].path.display(),
                e.describe()
            ));
            continue;
        }
        for dep in &e.deps {
            let Some(&d) = by_id.get(dep) else { continue };
            if let Origin::Migration(kept) = origin(d)
                && is_kept(d)
            {
                problems.push(format!(
                    "migration {} adds {} on {}, which kept migration {} created: kept migrations run after \
                         every generated file, so fold the change into {} (or remove its `{KEEP_MARKER}` line)",
                    label(k),
                    e.describe(),
                    entries[d].describe(),
                    label(kept),
                    set.files[kept].path.display()
                ));
            }
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }

    let module_of = |i: usize| match origin(i) {
        Origin::Migration(k) => set.files[k].module.clone(),
        Origin::Skip => None,
    };
    let generated: Vec<usize> = (0..entries.len()).filter(|&i| origin(i) != Origin::Skip && !is_kept(i)).collect();
    let modules: BTreeSet<Option<String>> = generated.iter().map(|&i| module_of(i)).collect();

    // An entry is deferred when it, or the entry it follows, is a split-off foreign key.
    let mut deferred_fks: BTreeSet<usize> = BTreeSet::new();
    let is_deferred = |i: usize, deferred: &BTreeSet<usize>| {
        let mut at = Some(i);
        while let Some(j) = at {
            if deferred.contains(&j) {
                return true;
            }
            at = parents[j];
        }
        false
    };
    let edges_of = |deferred: &BTreeSet<usize>| {
        let mut edges: BTreeMap<(Option<String>, Option<String>), Vec<usize>> = BTreeMap::new();
        for &i in &generated {
            if is_deferred(i, deferred) {
                continue;
            }
            for dep in &entries[i].deps {
                let Some(&d) = by_id.get(dep) else { continue };
                if origin(d) == Origin::Skip || is_kept(d) || module_of(d) == module_of(i) {
                    continue;
                }
                edges.entry((module_of(i), module_of(d))).or_default().push(i);
            }
        }
        edges
    };

    // Modules the keys leave free to go anywhere keep the chain's own order: first migration first.
    let mut first: BTreeMap<Option<String>, i32> = BTreeMap::new();
    for file in &set.files {
        first.entry(file.module.clone()).or_insert(file.version);
    }
    let mut edges = edges_of(&deferred_fks);
    let order = match topological(&modules, &edges, &first) {
        Ok(order) => order,
        Err(_) => {
            // Modules whose keys reference each other: their cross-module keys go into later files.
            let cyclic = cyclic_pairs(&edges);
            for ((from, to), reasons) in &edges {
                if cyclic.contains(&(from.clone(), to.clone())) {
                    deferred_fks.extend(reasons.iter().filter(|&&i| entries[i].kind == "FK CONSTRAINT"));
                }
            }
            edges = edges_of(&deferred_fks);
            topological(&modules, &edges, &first).map_err(|stuck| {
                let cyclic = cyclic_pairs(&edges);
                let reasons: Vec<String> = edges
                    .iter()
                    .filter(|(pair, _)| cyclic.contains(*pair))
                    .flat_map(|((from, to), reasons)| {
                        reasons.iter().map(move |&i| {
                            format!("  {} needs {}: {}", module_name(from), module_name(to), entries[i].describe())
                        })
                    })
                    .collect();
                anyhow::anyhow!(
                    "modules {} depend on each other through objects other than foreign keys, so no order of \
                     initial migrations works:\n{}\nmove one of these objects into the other module's migrations",
                    stuck.iter().map(module_name).collect::<Vec<_>>().join(", "),
                    reasons.join("\n")
                )
            })?
        }
    };

    let mut files = Vec::new();
    for module in &order {
        let members: Vec<usize> =
            generated.iter().copied().filter(|&i| module_of(i) == *module && !is_deferred(i, &deferred_fks)).collect();
        if !members.is_empty() {
            files.push(PlannedFile {
                module: module.clone(),
                name: file_name(module, "initial"),
                kind: FileKind::Initial,
                entries: members,
                kept: None,
            });
        }
    }
    for module in &order {
        let members: Vec<usize> =
            generated.iter().copied().filter(|&i| module_of(i) == *module && is_deferred(i, &deferred_fks)).collect();
        if !members.is_empty() {
            files.push(PlannedFile {
                module: module.clone(),
                name: file_name(module, "foreign_keys"),
                kind: FileKind::ForeignKeys,
                entries: members,
                kept: None,
            });
        }
    }
    for (k, file) in set.files.iter().enumerate().filter(|(_, f)| f.keep) {
        files.push(PlannedFile {
            module: file.module.clone(),
            name: file.name.clone(),
            kind: FileKind::Kept,
            entries: Vec::new(),
            kept: Some(k),
        });
    }
    let object_modules = entries
        .iter()
        .enumerate()
        .filter(|(i, e)| e.oid != 0 && origin(*i) != Origin::Skip)
        .map(|(i, e)| (e.oid, module_of(i)))
        .collect();
    Ok(Plan { files, module_order: order, object_modules })
}

#[allow(clippy::too_many_arguments)]
fn resolve(
    i: usize,
    entries: &[TocEntry],
    by_id: &HashMap<u32, usize>,
    provenance: &Provenance,
    fallback: Option<usize>,
    origins: &mut Vec<Option<Origin>>,
    parents: &mut Vec<Option<usize>>,
    depth: usize,
) -> anyhow::Result<Origin> {
    if let Some(origin) = origins[i] {
        return Ok(origin);
    }
    let e = &entries[i];
    let pre_existing = || {
        fallback.map(Origin::Migration).ok_or_else(|| {
            anyhow::anyhow!("{} existed before the first migration and every migration is kept", e.describe())
        })
    };
    let origin = if SESSION_KINDS.contains(&e.kind.as_str()) || (e.oid != 0 && provenance.history_oids.contains(&e.oid))
    {
        Origin::Skip
    } else if e.oid != 0 {
        match provenance.origin(e.oid) {
            Some(k) => Origin::Migration(k),
            None => pre_existing()?,
        }
    } else {
        anyhow::ensure!(depth < 64, "dependency chain too deep at {}", e.describe());
        // pg_dump lists a user mapping with no dependency: it belongs to the server it names.
        let parent = e.deps.iter().find_map(|d| by_id.get(d).copied()).or_else(|| mapped_server(e, entries));
        parents[i] = parent;
        match parent {
            Some(p) => resolve(p, entries, by_id, provenance, fallback, origins, parents, depth + 1)?,
            // E.g. a comment on the `public` schema, which pg_dump does not list as an entry.
            None => pre_existing()?,
        }
    };
    origins[i] = Some(origin);
    Ok(origin)
}

/// Returns the `SERVER` entry a `USER MAPPING` entry (`USER MAPPING role SERVER name`) names.
fn mapped_server(e: &TocEntry, entries: &[TocEntry]) -> Option<usize> {
    if e.kind != "USER MAPPING" {
        return None;
    }
    let (_, name) = e.schema_and_name();
    let server = name.rsplit_once(" SERVER ")?.1;
    entries.iter().position(|s| s.kind == "SERVER" && s.schema_and_name().1 == server)
}

/// Returns `<module>_<what>`, or `<what>` for a flat folder.
fn file_name(module: &Option<String>, what: &str) -> String {
    match module {
        Some(m) => format!("{m}_{what}"),
        None => what.to_string(),
    }
}

fn module_name(module: &Option<String>) -> String {
    module.clone().unwrap_or_else(|| "(top level)".to_string())
}

/// Orders modules so each comes after those it needs, preferring the order of their first
/// migration (`first`); on a cycle returns the modules that could not be placed.
fn topological(
    modules: &BTreeSet<Option<String>>,
    edges: &BTreeMap<(Option<String>, Option<String>), Vec<usize>>,
    first: &BTreeMap<Option<String>, i32>,
) -> Result<Vec<Option<String>>, Vec<Option<String>>> {
    let rank = |m: &Option<String>| (first.get(m).copied().unwrap_or(i32::MAX), m.clone());
    let mut placed: Vec<Option<String>> = Vec::new();
    let mut left: BTreeSet<Option<String>> = modules.clone();
    while !left.is_empty() {
        let ready = left
            .iter()
            .filter(|m| edges.keys().all(|(from, to)| from != *m || !left.contains(to) || to == *m))
            .min_by_key(|m| rank(m))
            .cloned();
        match ready {
            Some(m) => {
                left.remove(&m);
                placed.push(m);
            }
            None => return Err(left.into_iter().collect()),
        }
    }
    Ok(placed)
}

/// Returns the edges that lie on a cycle (both ends reach each other).
fn cyclic_pairs(
    edges: &BTreeMap<(Option<String>, Option<String>), Vec<usize>>,
) -> BTreeSet<(Option<String>, Option<String>)> {
    let reaches = |from: &Option<String>, to: &Option<String>| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(m) = stack.pop() {
            if &m == to {
                return true;
            }
            if seen.insert(m.clone()) {
                stack.extend(edges.keys().filter(|(f, _)| *f == m).map(|(_, t)| t.clone()));
            }
        }
        false
    };
    edges.keys().filter(|(from, to)| reaches(to, from)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn orders_modules_by_dependency_then_first_migration() {
        let modules: BTreeSet<_> = [m("memory"), m("users"), m("journeys"), m("llmchat"), m("evidence")].into();
        let first =
            [m("users"), m("evidence"), m("journeys"), m("llmchat"), m("memory")].into_iter().zip(1..).collect();
        let mut edges = BTreeMap::new();
        edges.insert((m("memory"), m("journeys")), vec![0]);
        edges.insert((m("memory"), m("llmchat")), vec![1]);
        edges.insert((m("llmchat"), m("users")), vec![2]);
        edges.insert((m("users"), m("evidence")), vec![3]);
        let order = topological(&modules, &edges, &first).unwrap();
        assert_eq!(order, vec![m("evidence"), m("users"), m("journeys"), m("llmchat"), m("memory")]);
    }

    #[test]
    fn finds_the_edges_of_a_cycle() {
        let modules: BTreeSet<_> = [m("a"), m("b"), m("c")].into();
        let mut edges = BTreeMap::new();
        edges.insert((m("a"), m("b")), vec![0]);
        edges.insert((m("b"), m("a")), vec![1]);
        edges.insert((m("c"), m("a")), vec![2]);
        assert_eq!(topological(&modules, &edges, &BTreeMap::new()).unwrap_err(), vec![m("a"), m("b"), m("c")]);
        let cyclic = cyclic_pairs(&edges);
        assert_eq!(cyclic, [(m("a"), m("b")), (m("b"), m("a"))].into());
    }
}
