//! Reads the table of contents of a custom-format `pg_dump` archive (`pg_restore -l -v`).

/// Entry kinds `pg_dump` writes, longest first so that `FK CONSTRAINT` wins over `CONSTRAINT`.
const KINDS: &[&str] = &[
    "PUBLICATION TABLES IN SCHEMA",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "MATERIALIZED VIEW DATA",
    "FOREIGN DATA WRAPPER",
    "PROCEDURAL LANGUAGE",
    "DATABASE PROPERTIES",
    "TEXT SEARCH TEMPLATE",
    "TEXT SEARCH PARSER",
    "SEQUENCE OWNED BY",
    "MATERIALIZED VIEW",
    "PUBLICATION TABLE",
    "OPERATOR FAMILY",
    "CHECK CONSTRAINT",
    "OPERATOR CLASS",
    "SECURITY LABEL",
    "EVENT TRIGGER",
    "FOREIGN TABLE",
    "FK CONSTRAINT",
    "ACCESS METHOD",
    "BLOB METADATA",
    "LARGE OBJECT",
    "ROW SECURITY",
    "SEQUENCE SET",
    "TABLE ATTACH",
    "INDEX ATTACH",
    "USER MAPPING",
    "DEFAULT ACL",
    "DUMMY TYPE",
    "SHELL TYPE",
    "TABLE DATA",
    "PUBLICATION",
    "SUBSCRIPTION",
    "STATISTICS",
    "CONSTRAINT",
    "CONVERSION",
    "SEARCHPATH",
    "STDSTRINGS",
    "COLLATION",
    "AGGREGATE",
    "EXTENSION",
    "PROCEDURE",
    "TRANSFORM",
    "FUNCTION",
    "OPERATOR",
    "ENCODING",
    "DATABASE",
    "SEQUENCE",
    "TRIGGER",
    "COMMENT",
    "DEFAULT",
    "DOMAIN",
    "SCHEMA",
    "SERVER",
    "POLICY",
    "BLOBS",
    "INDEX",
    "TABLE",
    "BLOB",
    "CAST",
    "RULE",
    "TYPE",
    "VIEW",
    "ACL",
];

/// One archive entry: `dumpId; catalogOid objOid KIND schema name owner`, plus its dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocEntry {
    pub dump_id: u32,
    /// The system catalog the object lives in (`pg_class`, `pg_constraint`...), 0 for none.
    pub catalog: u32,
    /// The object's OID, 0 for entries that are not objects of their own (comments, ...).
    pub oid: u32,
    pub kind: String,
    /// What follows the kind: schema, name and owner, as `pg_restore -l` prints them.
    pub tag: String,
    /// The entry's line, as a `pg_restore -L` list file wants it.
    pub line: String,
    /// Dump ids of the entries this one needs first.
    pub deps: Vec<u32>,
}

impl TocEntry {
    /// Returns the entry as `KIND schema name`, without the owner, for messages.
    pub fn describe(&self) -> String {
        let mut words: Vec<&str> = self.tag.split_whitespace().collect();
        // The owner is the last word when pg_dump recorded one (extensions have none).
        if words.len() >= 3 {
            words.pop();
        }
        let words: Vec<&str> = words.into_iter().filter(|w| *w != "-").collect();
        format!("{} {}", self.kind, words.join(" ")).trim().to_string()
    }

    /// Returns the entry's schema (`-` for none) and name as `pg_restore` prints them in the
    /// `-- Name: ...; Schema: ...` line above the entry's SQL.
    pub fn schema_and_name(&self) -> (&str, &str) {
        // The listing line is `id; catalog oid KIND schema name owner`; the owner may be empty.
        let after_kind = self.line.find(&format!(" {} ", self.kind)).map(|at| at + self.kind.len() + 2);
        let rest = after_kind.map_or("", |at| &self.line[at..]);
        let (schema, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let name = rest.rsplit_once(' ').map_or(rest, |(name, _owner)| name);
        (schema, name)
    }
}

/// Parses the output of `pg_restore -l -v`.
pub fn parse(listing: &str) -> anyhow::Result<Vec<TocEntry>> {
    let mut entries: Vec<TocEntry> = Vec::new();
    for (number, line) in listing.lines().enumerate() {
        if let Some(rest) = line.strip_prefix(';') {
            let rest = rest.trim_start();
            if let Some(deps) = rest.strip_prefix("depends on:") {
                let Some(last) = entries.last_mut() else {
                    anyhow::bail!("pg_restore listing line {}: dependencies before any entry", number + 1);
                };
                for dep in deps.split_whitespace() {
                    last.deps.push(dep.parse().map_err(|_| {
                        anyhow::anyhow!("pg_restore listing line {}: bad dependency {dep:?}", number + 1)
                    })?);
                }
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        entries
            .push(parse_entry(line).ok_or_else(|| {
                anyhow::anyhow!("pg_restore listing line {}: cannot read entry {line:?}", number + 1)
            })?);
    }
    Ok(entries)
}

fn parse_entry(line: &str) -> Option<TocEntry> {
    let (id, rest) = line.split_once(';')?;
    let dump_id = id.trim().parse().ok()?;
    let rest = rest.trim_start();
    let (catalog, rest) = rest.split_once(' ')?;
    let (oid, rest) = rest.split_once(' ')?;
    let kind = KINDS
        .iter()
        .find(|k| rest.strip_prefix(**k).is_some_and(|after| after.is_empty() || after.starts_with(' ')))
        .map(|k| k.to_string())
        .unwrap_or_else(|| rest.split_whitespace().next().unwrap_or("").to_string());
    let tag = rest[kind.len()..].trim().to_string();
    Some(TocEntry {
        dump_id,
        catalog: catalog.parse().ok()?,
        oid: oid.parse().ok()?,
        kind,
        tag,
        line: line.to_string(),
        deps: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_kinds_and_dependencies() {
        let listing = ";\n; Archive created at 2026-11-24\n;\n3704; 0 0 SEARCHPATH - SEARCHPATH \n\
3; 3079 16422 EXTENSION - btree_gist \n3706; 0 0 COMMENT - EXTENSION btree_gist \n;\tdepends on: 3\n\
220; 1259 17087 TABLE public a postgres\n;\tdepends on: 1092 218 1095 1092\n\
3551; 2606 17111 FK CONSTRAINT public b b_a_id_fkey postgres\n;\tdepends on: 222 220 3544\n\
3710; 0 0 SEQUENCE OWNED BY public b_id_seq postgres\n";
        let entries = parse(listing).unwrap();
        assert_eq!(entries.len(), 6);
        assert_eq!(entries[0].kind, "SEARCHPATH");
        assert_eq!(entries[2].deps, vec![3]);
        assert_eq!(entries[3].kind, "TABLE");
        assert_eq!(entries[3].oid, 17087);
        assert_eq!(entries[3].catalog, 1259);
        assert_eq!(entries[3].deps, vec![1092, 218, 1095, 1092]);
        assert_eq!(entries[4].kind, "FK CONSTRAINT");
        assert_eq!(entries[4].describe(), "FK CONSTRAINT public b b_a_id_fkey");
        assert_eq!(entries[5].kind, "SEQUENCE OWNED BY");
        assert_eq!(entries[3].line, "220; 1259 17087 TABLE public a postgres");
        assert_eq!(entries[1].schema_and_name(), ("-", "btree_gist"));
        assert_eq!(entries[4].schema_and_name(), ("public", "b b_a_id_fkey"));
    }

    #[test]
    fn rejects_an_unreadable_line() {
        assert!(parse("garbage\n").is_err());
    }
}
