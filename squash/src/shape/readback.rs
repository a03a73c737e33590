//! Expressions whose pg_dump text Postgres reads back as another expression, written so that
//! they read back as the chain built them.
//!
//! A list compared with a `varchar` column (`kind IN ('a', 'b')`, `kind = ANY (ARRAY[...])`) is
//! stored as `(kind)::text = ANY ((ARRAY['a'::character varying, ...])::text[])`: the column and
//! the array are relabelled to `text` for the `text` operator. Since Postgres 15 a cast written
//! on an `ARRAY[...]` is pushed into its elements when the text is read back, so pg_dump's text
//! builds `ANY (ARRAY[('a'::character varying)::text, ...])`: a plain dump and restore drifts.
//! Written without the two relabels, `kind = ANY (ARRAY['a'::character varying, ...])`, the
//! parser adds them itself, as it did when the chain ran, and the stored expression is the
//! chain's again.

use migrator::sql::lexer::{tokens, Token, TokenKind};

use super::sql::split_top_level;

/// What pg_dump writes around the array: its opening (after `ANY ` or `ALL `) and its closing.
const OPEN: &str = "((ARRAY[";
const CLOSE: &str = "])::text[])";
/// The relabel pg_dump writes after the compared expression.
const RELABEL: &str = ")::text";
/// The type of every element of an array the rewrite takes.
const ELEMENT_TYPE: &str = "::character varying";

/// Returns `sql` with every comparison of a relabelled expression with a relabelled `varchar`
/// array (`(x)::text OP ANY ((ARRAY['a'::character varying, ...])::text[])`, `ALL` alike)
/// written as `(x) OP ANY (ARRAY['a'::character varying, ...])`. Text inside quotes, dollar
/// quotes (function bodies) and comments is left alone.
pub fn varchar_lists(sql: &str) -> String {
    let toks: Vec<Token> = tokens(sql).collect();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    for (at, _) in sql.match_indices(OPEN) {
        if at < copied {
            continue;
        }
        let Some(rewrite) = list_at(sql, &toks, at) else { continue };
        // Through the compared expression's `)`, then from after its `::text` to the array.
        out.push_str(&sql[copied..=rewrite.relabel]);
        out.push_str(&sql[rewrite.relabel + RELABEL.len()..at]);
        out.push_str("(ARRAY[");
        out.push_str(rewrite.elements);
        out.push_str("])");
        copied = rewrite.end;
    }
    out.push_str(&sql[copied..]);
    out
}

/// A comparison [`varchar_lists`] rewrites.
struct Rewrite<'a> {
    /// Where the `)::text` after the compared expression starts (at its `)`).
    relabel: usize,
    /// The array's elements, as pg_dump wrote them.
    elements: &'a str,
    /// Where the comparison's array ends (after [`CLOSE`]).
    end: usize,
}

/// Reads the comparison whose array opens at `at` (at [`OPEN`]), if it is one to rewrite.
fn list_at<'a>(sql: &'a str, toks: &[Token], at: usize) -> Option<Rewrite<'a>> {
    let first = toks.binary_search_by_key(&at, |t| t.span.start).ok()?;
    if toks[first].kind != TokenKind::Punctuation {
        return None;
    }
    // Before it: `)::text OP ANY ` (or `ALL `), OP an operator's characters.
    let head = sql[..at].strip_suffix(" ANY ").or_else(|| sql[..at].strip_suffix(" ALL "))?;
    let operator = head.trim_end_matches(|c: char| "=<>!~*".contains(c));
    if operator.len() == head.len() {
        return None;
    }
    let relabel = operator.strip_suffix(' ')?.strip_suffix(RELABEL)?.len();
    // The `]` that closes the array, outside quotes.
    let open_bracket = at + OPEN.len() - 1;
    let mut depth = 0usize;
    let mut close = None;
    for token in toks[first..].iter().filter(|t| t.kind == TokenKind::Punctuation && t.span.start >= open_bracket) {
        match sql.as_bytes()[token.span.start] {
            b'[' | b'(' => depth += 1,
            b']' | b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    close = Some(token.span.start);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    if !sql[close..].starts_with(CLOSE) {
        return None;
    }
    let elements = &sql[open_bracket + 1..close];
    let all_varchar = split_top_level(elements, b',').into_iter().all(|element| {
        let element = element.trim();
        tokens(element)
            .next()
            .is_some_and(|t| t.kind == TokenKind::String && t.closed && &element[t.span.end..] == ELEMENT_TYPE)
    });
    all_varchar.then_some(Rewrite { relabel, elements, end: close + CLOSE.len() })
}

#[cfg(test)]
mod tests {
    use super::varchar_lists;

    #[test]
    fn writes_varchar_lists_without_the_relabels() {
        assert_eq!(
            varchar_lists(
                "CHECK (((kind)::text = ANY ((ARRAY['a'::character varying, 'it''s, ]'::character varying])::text[])))"
            ),
            "CHECK (((kind) = ANY (ARRAY['a'::character varying, 'it''s, ]'::character varying])))"
        );
        assert_eq!(
            varchar_lists("WHERE ((a.\"Kind\")::text <> ALL ((ARRAY['x'::character varying])::text[]))"),
            "WHERE ((a.\"Kind\") <> ALL (ARRAY['x'::character varying]))"
        );
    }

    #[test]
    fn leaves_other_arrays_and_quoted_text_alone() {
        for sql in [
            // Elements of another type, or a cast that is not a relabel of the compared value.
            "((kind)::text = ANY ((ARRAY['a'::text, 'b'::character varying])::text[]))",
            "((n)::text = ANY ((ARRAY[1, 2])::text[]))",
            "(kind = ANY ((ARRAY['a'::character varying])::text[]))",
            // Inside a string and a function body.
            "SELECT '(x)::text = ANY ((ARRAY[''a''::character varying])::text[])'",
            "AS $$ SELECT (x)::text = ANY ((ARRAY['a'::character varying])::text[]) $$",
        ] {
            assert_eq!(varchar_lists(sql), sql);
        }
    }
}
