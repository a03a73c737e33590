//! SQL text: how Postgres reads it ([`lexer`]) and string literals the workspace writes itself for
//! generated migrations and queries.

pub mod lexer;

/// Quotes `text` as a SQL string literal, as Postgres' own `quote_literal()` does: quotes
/// doubled, and the `E''` form with doubled backslashes when it holds a backslash, so the result
/// reads back unchanged whatever `standard_conforming_strings` is.
///
/// Postgres cannot store a NUL character in text at all; fixtures refuse it when they are read.
///
/// ```
/// assert_eq!(migrator::sql::quote_literal("it's"), "'it''s'");
/// assert_eq!(migrator::sql::quote_literal(r"C:\temp"), r"E'C:\\temp'");
/// ```
pub fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if quoted.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_survive_quotes_and_backslashes() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(""), "''");
        assert_eq!(quote_literal(r#"say \"hi\""#), r#"E'say \\"hi\\"'"#);
        assert_eq!(quote_literal(r"\'"), r"E'\\'''");
        assert_eq!(quote_literal("line\nbreak"), "'line\nbreak'");
    }
}
