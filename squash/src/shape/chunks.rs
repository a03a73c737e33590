//! Cuts `pg_restore` output into one piece of SQL per archive entry, using the `-- Name: ...`
//! comment pg_restore prints above each, and drops what is not schema (the session set-up,
//! version lines, `\restrict` keys).

use std::collections::{HashMap, VecDeque};

use crate::toc::TocEntry;

/// The SQL of one archive entry, as `pg_restore` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Index of the entry in the archive's entries; `None` when no entry of the file matches.
    pub entry: Option<usize>,
    /// The entry's kind, as the comment names it (`TABLE`, `FK CONSTRAINT`, ...).
    pub kind: String,
    /// The statements, without the comment and the blank lines around them.
    pub sql: String,
    /// The `default_tablespace` and `default_table_access_method` the object is made with.
    pub settings: ObjectSettings,
}

/// Settings pg_dump changes between objects, because they are part of what the object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSettings {
    pub tablespace: String,
    pub access_method: String,
}

impl ObjectSettings {
    /// The values a session starts with: no tablespace of its own, the heap access method.
    pub fn defaults() -> ObjectSettings {
        ObjectSettings { tablespace: "''".to_string(), access_method: "heap".to_string() }
    }
}

/// Splits `text`, the output of `pg_restore` for `file_entries` (indexes into `entries`), into
/// the entries' chunks, in the order pg_restore printed them.
pub fn split(text: &str, file_entries: impl IntoIterator<Item = usize>, entries: &[TocEntry]) -> Vec<Chunk> {
    let mut by_key: HashMap<(&str, &str, &str), VecDeque<usize>> = HashMap::new();
    for i in file_entries {
        let (schema, name) = entries[i].schema_and_name();
        by_key.entry((entries[i].kind.as_str(), schema, name)).or_default().push_back(i);
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut settings = ObjectSettings::defaults();
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let next = lines.get(i + 1).copied().unwrap_or("");
        if line == "--" && lines.get(i + 2) == Some(&"--") {
            if let Some(banner) = next.strip_prefix("-- Name: ") {
                finish(&mut chunks, &mut body);
                let (kind, schema, name) = read_banner(banner);
                let entry = by_key.get_mut(&(kind, schema, name)).and_then(VecDeque::pop_front);
                chunks.push(Chunk { entry, kind: kind.to_string(), sql: String::new(), settings: settings.clone() });
                i += 3;
                continue;
            }
            if next.starts_with("-- PostgreSQL database dump") {
                i += 3;
                continue;
            }
        }
        i += 1;
        if let Some(value) = setting(line, "default_tablespace") {
            settings.tablespace = value.to_string();
        } else if let Some(value) = setting(line, "default_table_access_method") {
            settings.access_method = value.to_string();
        } else if chunks.is_empty() || line.starts_with("\\restrict ") || line.starts_with("\\unrestrict ") {
            // Before the first object: the session set-up pg_dump writes, which the shaped file
            // replaces with only the settings its statements need.
        } else {
            body.push(line);
        }
    }
    finish(&mut chunks, &mut body);
    chunks
}

/// Ends the chunk being read: its statements without the blank lines around them.
fn finish(chunks: &mut [Chunk], body: &mut Vec<&str>) {
    if let Some(chunk) = chunks.last_mut() {
        chunk.sql = super::readback::varchar_lists(body.join("\n").trim_matches('\n').trim_end());
    }
    body.clear();
}

/// Reads `name; Type: kind; Schema: schema; Owner: owner` into (kind, schema, name).
fn read_banner(banner: &str) -> (&str, &str, &str) {
    let rest = banner.rsplit_once("; Owner: ").map_or(banner, |(rest, _)| rest);
    let (rest, schema) = rest.rsplit_once("; Schema: ").unwrap_or((rest, "-"));
    let (name, kind) = rest.rsplit_once("; Type: ").unwrap_or((rest, ""));
    (kind, schema, name)
}

/// Returns the value of a `SET name = value;` line.
fn setting<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.strip_prefix("SET ")?.strip_prefix(name)?.strip_prefix(" = ")?.strip_suffix(';')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toc;

    #[test]
    fn cuts_the_output_into_entries_and_keeps_their_settings() {
        let listing = "10; 1259 1 TABLE public a postgres\n11; 2606 2 CONSTRAINT public a a_pkey postgres\n\
12; 0 0 ACL public TABLE a postgres\n";
        let entries = toc::parse(listing).unwrap();
        let text = "--\n-- PostgreSQL database dump\n--\n\n\\restrict k\n\nSET statement_timeout = 0;\n\
SELECT pg_catalog.set_config('search_path', '', false);\n\nSET default_tablespace = '';\n\n\
SET default_table_access_method = heap;\n\n--\n-- Name: a; Type: TABLE; Schema: public; Owner: -\n--\n\n\
CREATE TABLE public.a (\n    id integer NOT NULL\n);\n\n\nSET default_tablespace = fast;\n\n\
--\n-- Name: a a_pkey; Type: CONSTRAINT; Schema: public; Owner: -\n--\n\n\
ALTER TABLE ONLY public.a\n    ADD CONSTRAINT a_pkey PRIMARY KEY (id);\n\n\n\
--\n-- Name: TABLE a; Type: ACL; Schema: public; Owner: -\n--\n\nGRANT SELECT ON TABLE public.a TO reader;\n\n\n\
--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict k\n\n";
        let chunks = split(text, [0, 1, 2], &entries);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].entry, Some(0));
        assert_eq!(chunks[0].sql, "CREATE TABLE public.a (\n    id integer NOT NULL\n);");
        assert_eq!(chunks[0].settings, ObjectSettings::defaults());
        assert_eq!(chunks[1].entry, Some(1));
        assert_eq!(chunks[1].kind, "CONSTRAINT");
        assert_eq!(chunks[1].settings.tablespace, "fast");
        assert_eq!(chunks[2].entry, Some(2));
        assert_eq!(chunks[2].sql, "GRANT SELECT ON TABLE public.a TO reader;");
    }
}
