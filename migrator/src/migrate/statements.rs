//! Splits a migration's SQL into statements with a lexer that knows Postgres's quoting rules.
//!
//! The lexer recognises what can hide a `;`: quoted strings (`'..'` with doubled quotes,
//! `E'..'` with backslash escapes), quoted identifiers, dollar quotes (`$tag$..$tag$`, not the
//! parameter `$1`), `--` comments and nested `/* */` comments. Every span is a byte range that
//! starts and ends on a character boundary. Statements end where Postgres's grammar ends them: at
//! a `;` outside parentheses and outside the `BEGIN ATOMIC ... END` body of a SQL-standard
//! function. The lexer reads strings as Postgres does with `standard_conforming_strings` on, which
//! the runner pins for every migration (and refuses a file that turns it off).

use std::ops::Range;

/// What a [`Token`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Spaces, tabs and line breaks.
    Whitespace,
    /// A `--` comment, with the line break that ends it.
    LineComment,
    /// A `/* */` comment, nested ones included.
    BlockComment,
    /// A string constant: `'..'` or `E'..'` (the `E` is part of the token).
    String,
    /// A quoted identifier: `".."`.
    QuotedIdentifier,
    /// A dollar-quoted string: `$tag$..$tag$` or `$$..$$`.
    DollarQuoted,
    /// The `;` that ends a statement.
    Semicolon,
    /// A keyword, an unquoted identifier or a number.
    Word,
    /// Any other single character: an operator, a parenthesis, a parameter's `$`.
    Punctuation,
}

/// One token of SQL text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Where it is in the text, in bytes.
    pub span: Range<usize>,
    /// False for a quote or comment that the text ends inside of.
    pub closed: bool,
}

/// Returns the tokens of `sql`, in order; together their spans cover the whole text.
pub(crate) fn tokens(sql: &str) -> Tokens<'_> {
    Tokens { sql, at: 0 }
}

/// The iterator [`tokens`] returns.
pub(crate) struct Tokens<'a> {
    sql: &'a str,
    at: usize,
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let start = self.at;
        let bytes = self.sql.as_bytes();
        let first = *bytes.get(start)?;
        let next = bytes.get(start + 1).copied();
        let (kind, end, closed) = match first {
            b'\'' => quoted(bytes, start, false).into_token(TokenKind::String),
            b'E' | b'e' if next == Some(b'\'') => quoted(bytes, start + 1, true).into_token(TokenKind::String),
            b'"' => quoted_identifier(bytes, start).into_token(TokenKind::QuotedIdentifier),
            b'-' if next == Some(b'-') => {
                let end = self.sql[start..].find('\n').map_or(bytes.len(), |n| start + n + 1);
                (TokenKind::LineComment, end, true)
            }
            b'/' if next == Some(b'*') => block_comment(bytes, start).into_token(TokenKind::BlockComment),
            b'$' => match dollar_tag(bytes, start) {
                Some(tag_len) => {
                    let tag = &self.sql[start..start + tag_len];
                    match self.sql[start + tag_len..].find(tag) {
                        Some(n) => (TokenKind::DollarQuoted, start + tag_len + n + tag_len, true),
                        None => (TokenKind::DollarQuoted, bytes.len(), false),
                    }
                }
                None => (TokenKind::Punctuation, start + 1, true),
            },
            b';' => (TokenKind::Semicolon, start + 1, true),
            b if b.is_ascii_whitespace() => {
                let len = bytes[start..].iter().take_while(|b| b.is_ascii_whitespace()).count();
                (TokenKind::Whitespace, start + len, true)
            }
            b if is_word_byte(b) => {
                // Postgres lets `$` continue an identifier (`a$b`), so `a$b$` opens no dollar quote.
                let len = bytes[start..].iter().take_while(|b| is_word_byte(**b) || **b == b'$').count();
                (TokenKind::Word, start + len, true)
            }
            _ => (TokenKind::Punctuation, start + 1, true),
        };
        self.at = end;
        Some(Token { kind, span: start..end, closed })
    }
}

/// Where a quote or comment that started at some byte ends, and whether it was closed.
struct Scanned {
    end: usize,
    closed: bool,
}

impl Scanned {
    fn into_token(self, kind: TokenKind) -> (TokenKind, usize, bool) {
        (kind, self.end, self.closed)
    }
}

/// Scans the string constant whose opening `'` is at `quote`; `escapes` for `E'..'`.
fn quoted(bytes: &[u8], quote: usize, escapes: bool) -> Scanned {
    let mut i = quote + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Scanned { end: i + 1, closed: true },
            _ => i += 1,
        }
    }
    Scanned { end: bytes.len(), closed: false }
}

/// Scans the quoted identifier whose opening `"` is at `quote`.
fn quoted_identifier(bytes: &[u8], quote: usize) -> Scanned {
    let mut i = quote + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' if bytes.get(i + 1) == Some(&b'"') => i += 2,
            b'"' => return Scanned { end: i + 1, closed: true },
            _ => i += 1,
        }
    }
    Scanned { end: bytes.len(), closed: false }
}

/// Scans the comment whose opening `/*` is at `start`; comments nest in Postgres.
fn block_comment(bytes: &[u8], start: usize) -> Scanned {
    let (mut depth, mut i) = (0, start);
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Scanned { end: i, closed: true };
            }
        } else {
            i += 1;
        }
    }
    Scanned { end: bytes.len(), closed: false }
}

/// Returns the length of the `$tag$` that opens a dollar quote at `start`, if one does.
fn dollar_tag(bytes: &[u8], start: usize) -> Option<usize> {
    // `$1` is a parameter: a tag cannot start with a digit.
    if bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let tag_len = bytes[start + 1..].iter().take_while(|b| is_word_byte(**b)).count();
    (bytes.get(start + 1 + tag_len) == Some(&b'$')).then_some(tag_len + 2)
}

/// Says whether `b` can be part of a keyword, an identifier or a number (any non-ASCII byte can).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The statements of a SQL text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Statements {
    /// Each statement's bytes, from just after the previous `;` to its own `;` included; the last
    /// one may have no `;`. Text after the last `;` that is only whitespace is no statement.
    pub spans: Vec<Range<usize>>,
    /// True when every quote, dollar quote and `/* */` comment is closed by the end of the text.
    pub closed: bool,
}

/// Splits `sql` into statements at every `;` that is outside quotes, comments, parentheses and
/// function bodies written as `BEGIN ATOMIC ... END`.
pub(crate) fn split(sql: &str) -> Statements {
    let mut spans = Vec::new();
    let mut closed = true;
    let mut start = 0;
    let mut nesting = Nesting::default();
    for token in tokens(sql) {
        closed &= token.closed;
        match token.kind {
            TokenKind::Semicolon if nesting.is_top_level() => {
                spans.push(start..token.span.end);
                start = token.span.end;
                nesting = Nesting::default();
            }
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment => {}
            kind => nesting.token(kind, &sql[token.span]),
        }
    }
    if !sql[start..].trim().is_empty() {
        spans.push(start..sql.len());
    }
    Statements { spans, closed }
}

/// Splits `sql` into its statements where the runner does: each statement's byte range, from its
/// first token past comments to its own `;` (the last one may have none), leaving out pieces that
/// hold only whitespace and comments. For tools that rewrite migrations (an import), so they cut a
/// file exactly where the runner would and keep the comments between statements.
pub fn split_statements(sql: &str) -> Vec<Range<usize>> {
    split(sql)
        .spans
        .into_iter()
        .filter(|s| has_code(&sql[s.clone()]))
        .map(|s| s.start + first_token(&sql[s.clone()])..s.end)
        .collect()
}

/// Returns the first `n` keywords of `statement` (past comments), lowercased: what a statement
/// is (`["create", "index", "concurrently"]`), as the runner reads it.
pub fn statement_words(statement: &str, n: usize) -> Vec<String> {
    leading_words(statement, n)
}

/// How deep a statement is in parentheses and SQL-standard function bodies, tracked the way
/// Postgres's grammar reads them.
///
/// A `;` inside a body (`CREATE FUNCTION ... BEGIN ATOMIC SELECT 1; END`) belongs to the
/// statement. Postgres's grammar opens such a body only with the two keywords `BEGIN ATOMIC` in
/// a `CREATE [OR REPLACE] FUNCTION` or `PROCEDURE` statement, outside parentheses; inside it, only
/// `CASE ... END` also ends with `END`. A word after `.` or `AS` is a name, not a keyword
/// (`x.end`, `SELECT 1 AS end`), and `begin` not followed by `ATOMIC` is a name too (`CREATE
/// FUNCTION begin()`). psql's own heuristic counts every `BEGIN`, which is why the runner does not
/// copy it: the server, which runs the file, reads it by the grammar.
#[derive(Default)]
struct Nesting {
    /// The statement's first words, lowercased, as far as they say whether it creates a routine.
    head: Vec<String>,
    /// The number of words seen.
    words: usize,
    parens: usize,
    blocks: usize,
    /// The previous token, lowercased when it is a word.
    previous: Option<String>,
}

impl Nesting {
    fn is_top_level(&self) -> bool {
        self.parens == 0 && self.blocks == 0
    }

    fn token(&mut self, kind: TokenKind, text: &str) {
        let previous = self.previous.replace(match kind {
            TokenKind::Word => text.to_ascii_lowercase(),
            TokenKind::Punctuation => text.to_string(),
            // A quoted name or a string: nothing a keyword test could match.
            _ => "\"".to_string(),
        });
        match kind {
            TokenKind::Punctuation => match text {
                "(" => self.parens += 1,
                ")" => self.parens = self.parens.saturating_sub(1),
                _ => {}
            },
            TokenKind::Word => self.word(&text.to_ascii_lowercase(), previous.as_deref()),
            _ => {}
        }
    }

    fn word(&mut self, word: &str, previous: Option<&str>) {
        if self.words < 4 {
            self.head.push(word.to_string());
        }
        self.words += 1;
        if self.parens > 0 || !self.creates_routine() || matches!(previous, Some("." | "as")) {
            return;
        }
        match word {
            "atomic" if previous == Some("begin") && self.blocks == 0 => self.blocks = 1,
            "case" if self.blocks > 0 => self.blocks += 1,
            "end" => self.blocks = self.blocks.saturating_sub(1),
            _ => {}
        }
    }

    /// Whether the statement starts `CREATE [OR REPLACE] FUNCTION` or `PROCEDURE`.
    fn creates_routine(&self) -> bool {
        let head: Vec<&str> = self.head.iter().map(String::as_str).collect();
        matches!(
            head.as_slice(),
            ["create", "function" | "procedure", ..] | ["create", "or", "replace", "function" | "procedure", ..]
        )
    }
}

/// Returns the first `n` keywords of `statement` (past comments), lowercased.
pub(crate) fn leading_words(statement: &str, n: usize) -> Vec<String> {
    tokens(statement)
        .filter(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment))
        .take(n)
        .map_while(|t| (t.kind == TokenKind::Word).then(|| statement[t.span].to_ascii_lowercase()))
        .collect()
}

/// Whether `text` holds `word` (lowercase ASCII) in any case, anywhere: a cheap test before a
/// closer look.
pub(crate) fn mentions(text: &str, word: &str) -> bool {
    text.as_bytes().windows(word.len()).any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Whether `statement` holds anything but whitespace and comments.
pub(crate) fn has_code(statement: &str) -> bool {
    first_token(statement) < statement.len()
}

/// Returns the byte offset of the first token of `statement` that is not whitespace or a comment
/// (the length of `statement` when there is none).
pub(crate) fn first_token(statement: &str) -> usize {
    tokens(statement)
        .find(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment))
        .map_or(statement.len(), |t| t.span.start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(sql: &str) -> Vec<&str> {
        split(sql).spans.into_iter().map(|span| sql[span].trim()).collect()
    }

    #[test]
    fn splits_statements_outside_quotes_and_comments() {
        let sql = "CREATE TABLE a (x text DEFAULT 'a;b''c');\n-- note; here\nSELECT \"we;ird\" FROM a; /* c; /* nested; */ */\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nSELECT E'x\\';y';\nSELECT $1";
        assert_eq!(
            pieces(sql),
            vec![
                "CREATE TABLE a (x text DEFAULT 'a;b''c');",
                "-- note; here\nSELECT \"we;ird\" FROM a;",
                "/* c; /* nested; */ */\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;",
                "SELECT E'x\\';y';",
                "SELECT $1",
            ]
        );
        assert_eq!(pieces("SELECT $$a;b$$;"), vec!["SELECT $$a;b$$;"]);
        assert!(split(sql).closed);
        for open in ["SELECT 'a", "SELECT E'a\\'", "SELECT \"a", "/* a /* b */", "SELECT $x$ a $y$"] {
            assert!(!split(open).closed, "{open}");
        }
    }

    #[test]
    fn lexes_words_escapes_and_dollars_like_postgres() {
        let kinds = |sql: &str| -> Vec<(TokenKind, String)> {
            tokens(sql).filter(|t| t.kind != TokenKind::Whitespace).map(|t| (t.kind, sql[t.span].to_string())).collect()
        };
        use TokenKind as K;
        // Only a lone `E` before a quote makes an escape string; `a$b$` is one identifier.
        assert_eq!(
            kinds("SELECT E'\\'', xE'a', a$b$ FROM é;"),
            vec![
                (K::Word, "SELECT".into()),
                (K::String, "E'\\''".into()),
                (K::Punctuation, ",".into()),
                (K::Word, "xE".into()),
                (K::String, "'a'".into()),
                (K::Punctuation, ",".into()),
                (K::Word, "a$b$".into()),
                (K::Word, "FROM".into()),
                (K::Word, "é".into()),
                (K::Semicolon, ";".into()),
            ]
        );
        assert_eq!(
            kinds("$1 $t$x$t$"),
            vec![(K::Punctuation, "$".into()), (K::Word, "1".into()), (K::DollarQuoted, "$t$x$t$".into())]
        );
        let sql = "SELECT 1 -- é\n/* a /* b */ c */";
        let mut at = 0;
        for token in tokens(sql) {
            assert_eq!(token.span.start, at, "each token starts where the last ended: {token:?}");
            at = token.span.end;
        }
        assert_eq!(at, sql.len());
    }

    #[test]
    fn keeps_function_bodies_and_parentheses_in_one_statement() {
        let sql = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\n  SELECT 3;\nEND;\n\
                   create or replace procedure p() language sql begin atomic insert into t values (1); end;\n\
                   SELECT (1; 2);\nBEGIN;\nCOMMIT;\nCREATE TABLE t (\"begin\" int, \"end\" int);\nEND";
        assert_eq!(
            pieces(sql),
            vec![
                "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\n  SELECT 3;\nEND;",
                "create or replace procedure p() language sql begin atomic insert into t values (1); end;",
                "SELECT (1; 2);",
                "BEGIN;",
                "COMMIT;",
                "CREATE TABLE t (\"begin\" int, \"end\" int);",
                "END",
            ]
        );
        // A routine written in a dollar quote has no block to track; a trigger is no routine.
        assert_eq!(
            pieces("CREATE FUNCTION g() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql; BEGIN;").len(),
            2
        );
        assert_eq!(pieces("CREATE TRIGGER x BEGIN; END;").len(), 2);
    }

    #[test]
    fn reads_begin_and_end_as_names_where_the_grammar_does() {
        // `begin` as a function's name opens no body: the COMMIT after it is a statement of its own.
        let sql = "CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE TABLE x(i int); COMMIT; SELECT 1/0;";
        assert_eq!(
            pieces(sql),
            vec![
                "CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1';",
                "CREATE TABLE x(i int);",
                "COMMIT;",
                "SELECT 1/0;"
            ]
        );
        assert_eq!(pieces("create or replace function s.begin() returns int language sql return 1; COMMIT;").len(), 2);
        assert_eq!(
            pieces("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN /* c */ -- d\n ATOMIC SELECT 1; END; COMMIT;")
                .len(),
            2
        );
        // `x.end` and `AS end` inside a body are names, and the body still ends at its END.
        let body = "CREATE FUNCTION f() RETURNS SETOF int LANGUAGE sql BEGIN ATOMIC SELECT x.end FROM t x; \
                    SELECT 1 AS end; SELECT CASE WHEN true THEN x.case END FROM t x; END; COMMIT;";
        assert_eq!(pieces(body).len(), 2, "{:?}", pieces(body));
        assert_eq!(pieces(body)[1], "COMMIT;");
    }

    #[test]
    fn reads_leading_words_past_comments() {
        assert_eq!(leading_words("-- c\n /* d */ Start  Transaction;", 3), vec!["start", "transaction"]);
        assert_eq!(leading_words("COMMIT PREPARED 'x';", 3), vec!["commit", "prepared"]);
        assert!(leading_words("(SELECT 1)", 2).is_empty());
        assert!(!has_code("  -- only a comment\n/* and this */ "));
        assert!(has_code("-- c\nSELECT 1"));
    }

    #[test]
    fn finds_the_first_token_past_comments() {
        assert_eq!(first_token("  -- c\n /* d */ SELECT"), 16);
        assert_eq!(first_token("/* a /* nested */ still */ SELECT"), 27);
        assert_eq!(first_token(" -- only a comment"), 18);
    }
}
