//! What the runner asks of a migration's statements beyond where they end: their first words,
//! whether they hold code. The splitting itself is [`crate::sql::lexer`]'s.

pub(crate) use crate::sql::lexer::{split, tokens, TokenKind};

/// Splits `sql` into its statements where the runner does: each statement's byte range, from its
/// first token past comments to its own `;` (the last one may have none), leaving out pieces that
/// hold only whitespace and comments. For tools that rewrite migrations (an import), so they cut a
/// file exactly where the runner would and keep the comments between statements.
pub fn split_statements(sql: &str) -> Vec<std::ops::Range<usize>> {
    split(sql)
        .statements
        .into_iter()
        .filter(|s| s.has_code)
        .map(|s| s.span.start + first_token(&sql[s.span.clone()])..s.span.end)
        .collect()
}

/// Returns the first `n` keywords of `statement` (past comments), lowercased: what a statement
/// is (`["create", "index", "concurrently"]`), as the runner reads it.
pub fn statement_words(statement: &str, n: usize) -> Vec<String> {
    leading_words(statement, n)
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
