//! Schema dumps with `pg_dump`, normalised so that two databases can be compared line by line.

use anyhow::Context;
use devdb::Server;
use xshell::{cmd, Shell};

/// Returns `pg_dump --schema-only` of database `db`, limited to `tables` when given.
pub fn dump_schema(sh: &Shell, server: &Server, db: &str, tables: &[&str]) -> anyhow::Result<String> {
    let pg_dump = server.bin("pg_dump");
    let url = server.url_for(db);
    let table_args: Vec<String> = tables.iter().flat_map(|t| ["-t".to_string(), format!("public.{t}")]).collect();
    cmd!(sh, "{pg_dump} --schema-only --no-owner --no-privileges {table_args...} --dbname {url}")
        .secret()
        .quiet()
        .read()
        .with_context(|| format!("pg_dump --schema-only of database {db}"))
}

/// Strips what differs between two dumps of the same schema: comments, session settings,
/// `\restrict` lines, ownership, and blank lines.
pub fn normalize_dump(dump: &str) -> String {
    let mut out = String::new();
    for line in dump.lines() {
        let t = line.trim_end();
        let skip = t.is_empty()
            || t.starts_with("--")
            || t.starts_with("SET ")
            || t.starts_with("SELECT pg_catalog.set_config(")
            || t.starts_with("\\restrict")
            || t.starts_with("\\unrestrict")
            || (t.starts_with("ALTER ") && t.contains(" OWNER TO "));
        if !skip {
            out.push_str(t);
            out.push('\n');
        }
    }
    out
}

/// Returns a line diff of `expected` and `actual` (`-` expected only, `+` actual only), or `None`.
pub fn diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    // Longest common subsequence; dumps are a few thousand lines at most.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_drops_noise_but_keeps_statements() {
        let dump = "--\n-- PostgreSQL database dump\n\\restrict abc\nSET lock_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\nCREATE TABLE public.t (\n    id integer\n);\nALTER TABLE public.t OWNER TO postgres;\n\\unrestrict abc\n";
        assert_eq!(normalize_dump(dump), "CREATE TABLE public.t (\n    id integer\n);\n");
    }

    #[test]
    fn diff_marks_both_sides() {
        assert_eq!(diff("a\nb\nc", "a\nc\nd"), Some("-b\n+d\n".to_string()));
        assert_eq!(diff("a", "a"), None);
        assert_eq!(diff("x\nold\ny", "x\nnew\ny"), Some("-old\n+new\n".to_string()), "removed before added");
    }
}
