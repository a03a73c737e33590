//! Reads the SQL `pg_dump` prints just far enough to reshape it: splits at separators outside
//! quotes, dollar quotes and parentheses, and reads (possibly quoted) identifiers.

/// A schema and a name in it, as stored.
pub type QualifiedName = (String, String);

/// Splits `text` at every `sep` that is outside quotes, dollar quotes, comments and parentheses;
/// the parts keep their spacing.
pub fn split_top_level(text: &str, sep: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    scan(text, |at, byte, depth| {
        if byte == sep && depth == 0 {
            parts.push(&text[start..at]);
            start = at + 1;
        }
    });
    parts.push(&text[start..]);
    parts
}

/// Returns the byte offset of the `)` that closes the `(` at `open`, if the text has one.
pub fn closing_paren(text: &str, open: usize) -> Option<usize> {
    let mut found = None;
    scan(&text[open..], |at, byte, depth| {
        if found.is_none() && byte == b')' && depth == 0 {
            found = Some(open + at);
        }
    });
    found
}

/// Calls `visit(offset, byte, depth)` for every byte outside quotes and comments, with the
/// parenthesis depth before it (a `)` is visited at the depth it closes to).
fn scan(text: &str, mut visit: impl FnMut(usize, u8, usize)) {
    let bytes = text.as_bytes();
    let mut depth: usize = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\'' | b'"' => {
                i = skip_quoted(bytes, i, b);
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'$' => {
                if let Some(end) = skip_dollar_quoted(text, i) {
                    i = end;
                    continue;
                }
            }
            b'(' => {
                visit(i, b, depth);
                depth += 1;
                i += 1;
                continue;
            }
            b')' => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        visit(i, b, depth);
        i += 1;
    }
}

/// Returns the offset after the quoted text starting at `start` (`'...'` or `"..."`, the quote
/// doubled inside; pg_dump writes `E'..'` strings with backslashes, whose `\'` is skipped too).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let escapes = quote == b'\'' && start > 0 && matches!(bytes[start - 1], b'E' | b'e');
    let mut i = start + 1;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Returns the offset after a dollar-quoted string starting at `start`, or `None` if the `$`
/// does not open one (a parameter such as `$1`).
fn skip_dollar_quoted(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    if !tag.chars().all(|c| c.is_alphanumeric() || c == '_') || tag.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let delimiter = &text[start..start + tag_len + 2];
    let body = start + delimiter.len();
    Some(text[body..].find(delimiter).map_or(text.len(), |end| body + end + delimiter.len()))
}

/// Returns the identifier at the start of `text` as Postgres stores it (quotes removed, doubled
/// quotes undone) and the text after it.
pub fn identifier(text: &str) -> Option<(String, &str)> {
    if let Some(rest) = text.strip_prefix('"') {
        let bytes = rest.as_bytes();
        let mut name = String::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    name.push('"');
                    i += 2;
                    continue;
                }
                return Some((name, &rest[i + 1..]));
            }
            let c = rest[i..].chars().next()?;
            name.push(c);
            i += c.len_utf8();
        }
        return None;
    }
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(text.len());
    (end > 0).then(|| (text[..end].to_string(), &text[end..]))
}

/// Reads a qualified name `schema.name` (either part may be quoted) at the start of `text`,
/// returning both parts as stored and the text after it.
pub fn qualified_name(text: &str) -> Option<(String, String, &str)> {
    let (schema, rest) = identifier(text)?;
    let rest = rest.strip_prefix('.')?;
    let (name, rest) = identifier(rest)?;
    Some((schema, name, rest))
}

/// Returns an identifier's stored text for a list of quoted-or-plain names: `(a, "B")` → `[a, B]`.
pub fn identifier_list(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    split_top_level(inner, b',')
        .into_iter()
        .map(|part| {
            let (name, rest) = identifier(part.trim())?;
            rest.is_empty().then_some(name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_parentheses() {
        let text = "a int DEFAULT 'x, y', b numeric(10,2), \"c,d\" text, e text DEFAULT $q$,$q$, f int";
        assert_eq!(
            split_top_level(text, b','),
            ["a int DEFAULT 'x, y'", " b numeric(10,2)", " \"c,d\" text", " e text DEFAULT $q$,$q$", " f int"]
        );
        assert_eq!(split_top_level("x = $1, y", b','), ["x = $1", " y"]);
        assert_eq!(split_top_level("E'it\\'s, fine', b", b','), ["E'it\\'s, fine'", " b"]);
    }

    #[test]
    fn finds_the_closing_parenthesis() {
        let text = "CREATE TABLE t (a int CHECK ((a > 0)), b text DEFAULT ')'::text) INHERITS (p);";
        let open = text.find('(').unwrap();
        assert_eq!(&text[closing_paren(text, open).unwrap()..], ") INHERITS (p);");
    }

    #[test]
    fn reads_identifiers() {
        assert_eq!(identifier("\"Wei\"\"rd\" text"), Some(("Wei\"rd".to_string(), " text")));
        assert_eq!(identifier("plain_1 text"), Some(("plain_1".to_string(), " text")));
        assert_eq!(qualified_name("public.\"User\" ("), Some(("public".into(), "User".into(), " (")));
        assert_eq!(identifier_list("(a, \"B\")"), Some(vec!["a".to_string(), "B".to_string()]));
        assert_eq!(identifier_list("(lower(a))"), None);
    }
}
