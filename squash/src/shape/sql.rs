//! Reads the SQL `pg_dump` prints just far enough to reshape it: splits at separators outside
//! quotes, dollar quotes, comments and parentheses, and reads (possibly quoted) identifiers,
//! with the tokens of the workspace's one SQL lexer ([`migrator::sql::lexer`]).

use migrator::sql::lexer::{tokens, TokenKind};

/// A schema and a name in it, as stored.
pub type QualifiedName = (String, String);

/// Splits `text` at every `sep` that is outside quotes, dollar quotes, comments, parentheses and
/// brackets (`ARRAY['a', 'b']`);
/// the parts keep their spacing. `sep` is a punctuation byte (`,`, `;`): a byte inside a word or
/// a number is never a separator.
pub fn split_top_level(text: &str, sep: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    scan(text, |at, byte, depth| {
        if byte == sep && depth == 0 {
            parts.push(&text[start..at]);
            start = at + 1;
        }
        true
    });
    parts.push(&text[start..]);
    parts
}

/// Returns the byte offset of the `)` that closes the `(` at `open`, if the text has one.
pub fn closing_paren(text: &str, open: usize) -> Option<usize> {
    let mut found = None;
    scan(&text[open..], |at, byte, depth| {
        if byte == b')' && depth == 0 {
            found = Some(open + at);
        }
        found.is_none()
    });
    found
}

/// Calls `visit(offset, byte, depth)` for every single-character token outside quotes and
/// comments (punctuation and `;`), with the depth of parentheses and brackets before it (a `)`
/// or `]` is visited at the depth it closes to), until `visit` returns false. The tokens are the workspace's one SQL
/// lexer's.
fn scan(text: &str, mut visit: impl FnMut(usize, u8, usize) -> bool) {
    let mut depth: usize = 0;
    for token in tokens(text) {
        if !matches!(token.kind, TokenKind::Punctuation | TokenKind::Semicolon) {
            continue;
        }
        let (at, byte) = (token.span.start, text.as_bytes()[token.span.start]);
        let before = match byte {
            b'(' | b'[' => {
                depth += 1;
                depth - 1
            }
            b')' | b']' => {
                depth = depth.saturating_sub(1);
                depth
            }
            _ => depth,
        };
        if !visit(at, byte, before) {
            return;
        }
    }
}

/// Returns the identifier at the start of `text` as Postgres stores it (quotes removed, doubled
/// quotes undone) and the text after it.
pub fn identifier(text: &str) -> Option<(String, &str)> {
    let token = tokens(text).next()?;
    let rest = &text[token.span.end..];
    match token.kind {
        TokenKind::QuotedIdentifier if token.closed => Some((text[1..token.span.end - 1].replace("\"\"", "\""), rest)),
        TokenKind::Word => Some((text[token.span].to_string(), rest)),
        _ => None,
    }
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
        assert_eq!(
            split_top_level("t text[] DEFAULT ARRAY['a'::text, 'b'::text], u int[] DEFAULT '{1,2}'", b','),
            ["t text[] DEFAULT ARRAY['a'::text, 'b'::text]", " u int[] DEFAULT '{1,2}'"]
        );
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
