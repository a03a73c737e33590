//! What differs between Postgres majors only in how a server stores or prints a fact, folded away
//! before two snapshots are compared, so that a record written on one major holds on every other.
//!
//! - Postgres 18 records each column's NOT NULL as a constraint in `pg_constraint` (named
//!   `<table>_<column>_not_null`), and 17 a domain's: 14 to 16 keep it in the column's (or the
//!   domain's) nullability only, which the snapshot has on every major. A plain one is left out;
//!   one that says more (`NO INHERIT`, `NOT VALID`, a comment) stays, as a real difference.
//! - Postgres 16 prints a view's columns unqualified when its query reads one relation
//!   (`SELECT id FROM public.account`); 14 and 15 qualify them (`SELECT account.id`). Both are
//!   compared without that qualifier.
//!
//! Recorded snapshots keep what the server said: this runs on both sides of a comparison.

use std::borrow::Cow;

/// Returns the definition of object `key` as compared across majors, or `None` when the object
/// is only how one major stores a fact the others keep elsewhere.
pub(super) fn comparable<'a>(key: &str, definition: &'a str) -> Option<Cow<'a, str>> {
    if key.starts_with("constraint ") && is_plain_not_null(definition) {
        return None;
    }
    if key.starts_with("view ") || key.starts_with("materialized view ") {
        return Some(unqualified_view(definition));
    }
    Some(Cow::Borrowed(definition))
}

/// Whether a constraint's definition is a bare NOT NULL: `NOT NULL` (a domain's, 17+) or
/// `NOT NULL column` (a table's, 18+), with nothing after it.
fn is_plain_not_null(definition: &str) -> bool {
    let Some(rest) = definition.strip_prefix("NOT NULL") else { return false };
    let rest = rest.trim();
    rest.is_empty() || is_one_identifier(rest)
}

/// Whether `text` is one column name as `quote_ident` prints it.
fn is_one_identifier(text: &str) -> bool {
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return !inner.replace("\"\"", "").contains('"');
    }
    !text.is_empty() && text.chars().all(|c| c == '_' || c == '$' || c.is_alphanumeric())
}

/// Returns a view's definition with the qualifier of its columns removed when its top-level
/// query reads one relation or subquery, as Postgres 16 and later print it.
fn unqualified_view(definition: &str) -> Cow<'_, str> {
    let Some(qualifier) = single_from_item_qualifier(definition) else { return Cow::Borrowed(definition) };
    let prefix = format!("{qualifier}.");
    let mut out = String::with_capacity(definition.len());
    let mut copied = 0;
    for (at, _) in definition.match_indices(&prefix) {
        // Only a whole word: not the end of `public.account.` or of `xaccount.`.
        let previous = definition[..at].chars().last();
        if at >= copied && previous.is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '$'))) {
            out.push_str(&definition[copied..at]);
            copied = at + prefix.len();
        }
    }
    out.push_str(&definition[copied..]);
    Cow::Owned(out)
}

/// Returns the name that qualifies columns in a view whose top-level `FROM` has one item (its
/// alias, or the relation's name), or `None` when there are several, a join, or quoted names.
fn single_from_item_qualifier(definition: &str) -> Option<String> {
    // pg_get_viewdef indents the top-level clauses by three spaces, nested ones by more.
    let from_line = definition.lines().find(|line| line.starts_with("   FROM "))?;
    let item = from_line.trim_start().strip_prefix("FROM ")?.trim_end();
    if item.contains('"') || item.ends_with(',') {
        return None;
    }
    if item.starts_with("( SELECT") {
        // A subquery: its alias follows the parenthesis that closes it.
        let start = definition.find(from_line)? + from_line.len() - item.len();
        let mut depth = 0usize;
        for (i, c) in definition[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        let after = definition[start + i + 1..].split_whitespace().next()?;
                        return alias(after);
                    }
                }
                _ => {}
            }
        }
        return None;
    }
    if item.starts_with('(') {
        return None;
    }
    let mut words = item.split_whitespace().skip_while(|w| *w == "ONLY");
    let relation = words.next()?;
    match words.next() {
        Some(alias_word) => alias(alias_word),
        None => alias(relation.rsplit('.').next()?),
    }
}

/// Returns an alias word without a column list (`g(n)` is `g`), if it is a plain name.
fn alias(word: &str) -> Option<String> {
    let name = word.split('(').next()?.trim_end_matches(';');
    is_one_identifier(name).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_not_null_constraint_is_how_a_major_stores_nullability() {
        assert_eq!(comparable("constraint public.a.a_id_not_null", "NOT NULL id"), None);
        assert_eq!(comparable("constraint public.email.email_not_null", "NOT NULL"), None);
        assert_eq!(comparable("constraint public.a.a_x_not_null", "NOT NULL \"Odd Name\""), None);
        // Saying more than the column's nullability is a real difference.
        for kept in ["NOT NULL id NO INHERIT", "NOT NULL id NOT VALID", "NOT NULL id COMMENT 'why'"] {
            assert_eq!(comparable("constraint public.a.a_id_not_null", kept).as_deref(), Some(kept));
        }
        assert_eq!(comparable("constraint public.a.a_check", "CHECK ((id > 0))").as_deref(), Some("CHECK ((id > 0))"));
    }

    #[test]
    fn views_compare_without_the_qualifier_of_their_one_relation() {
        let fifteen = " SELECT a.id,\n    a.handle AS h\n   FROM public.account a\n  WHERE (a.handle ~~ 'x%'::text)\n  ORDER BY a.handle;";
        let sixteen = " SELECT id,\n    handle AS h\n   FROM public.account a\n  WHERE (handle ~~ 'x%'::text)\n  ORDER BY handle;";
        assert_eq!(comparable("view public.aliased", fifteen), comparable("view public.aliased", sixteen));
        let fifteen = " SELECT account.id\n   FROM public.account\n  WHERE (account.mood <> 'sad'::public.mood);";
        let sixteen = " SELECT id\n   FROM public.account\n  WHERE (mood <> 'sad'::public.mood);";
        assert_eq!(
            comparable("materialized view public.m", fifteen),
            comparable("materialized view public.m", sixteen)
        );
        let fifteen =
            " SELECT s.id\n   FROM ( SELECT account.id\n           FROM public.account) s\n  WHERE (s.id > 1);";
        let sixteen = " SELECT id\n   FROM ( SELECT account.id\n           FROM public.account) s\n  WHERE (id > 1);";
        assert_eq!(comparable("view extra.sub", fifteen), comparable("view extra.sub", sixteen));
    }

    #[test]
    fn a_real_difference_in_a_view_still_shows() {
        let expected = " SELECT account.id\n   FROM public.account\n  WHERE (account.mood <> 'sad'::public.mood);";
        let other_column = " SELECT handle\n   FROM public.account\n  WHERE (mood <> 'sad'::public.mood);";
        let other_table = " SELECT id\n   FROM extra.account\n  WHERE (mood <> 'sad'::public.mood);";
        for found in [other_column, other_table] {
            assert_ne!(comparable("view public.v", expected), comparable("view public.v", found));
        }
        // A join keeps its qualifiers on every major: they say which table a column is from.
        let join = " SELECT a.id\n   FROM (public.account a\n     JOIN public.note n ON ((n.account_id = a.id)));";
        assert_eq!(comparable("view public.j", join).as_deref(), Some(join));
        let other_side = join.replace("SELECT a.id", "SELECT n.id");
        assert_ne!(comparable("view public.j", join), comparable("view public.j", &other_side));
    }
}
