//! Grants and default privileges as `pg_dump` prints them: the roles they name, and the role
//! that ran the chain written as `CURRENT_ROLE`, as the migrations meant it.

use super::sql::identifier;
use super::table::statements;

/// Rewrites the `GRANT`, `REVOKE` and `ALTER DEFAULT PRIVILEGES` statements in `sql` so that
/// `role`, the role that ran the chain, reads as the role that runs the migrations.
pub fn for_current_role(sql: &str, role: &str) -> String {
    statements(sql)
        .into_iter()
        .map(|statement| {
            let mut statement = statement.to_string();
            if let Some(rest) = statement.strip_prefix("ALTER DEFAULT PRIVILEGES FOR ROLE ")
                && let Some((name, after)) = identifier(rest)
                && name == role
            {
                statement = format!("ALTER DEFAULT PRIVILEGES{after}");
            }
            if let Some((start, name)) = grantee(&statement)
                && name == role
            {
                let end = start + printed_len(&statement[start..]);
                statement.replace_range(start..end, "CURRENT_ROLE");
            }
            statement.replace("  TO ", " TO ").replace("  FROM ", " FROM ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Returns the roles the statements in `sql` grant to, revoke from or set defaults for, other
/// than `PUBLIC` and `CURRENT_ROLE`, sorted.
pub fn roles(sql: &str) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for statement in statements(sql) {
        let mut named = Vec::new();
        if let Some(rest) = statement.strip_prefix("ALTER DEFAULT PRIVILEGES FOR ROLE ") {
            named.extend(identifier(rest).map(|(name, _)| name));
        }
        named.extend(grantee(statement).filter(|(start, _)| !is_keyword_at(statement, *start)).map(|(_, n)| n));
        for name in named {
            if !roles.contains(&name) {
                roles.push(name);
            }
        }
    }
    roles.sort();
    roles
}

/// Whether the grantee at `start` is `PUBLIC` or `CURRENT_ROLE` rather than a role's name.
fn is_keyword_at(statement: &str, start: usize) -> bool {
    let rest = &statement[start..];
    ["PUBLIC", "CURRENT_ROLE"]
        .iter()
        .any(|k| rest.strip_prefix(k).is_some_and(|r| !r.starts_with(char::is_alphanumeric)))
}

/// Finds the grantee of a `GRANT ... TO role` or `REVOKE ... FROM role` statement: where its
/// name starts, and the name as stored.
fn grantee(statement: &str) -> Option<(usize, String)> {
    if !(statement.starts_with("GRANT ")
        || statement.starts_with("REVOKE ")
        || statement.starts_with("ALTER DEFAULT PRIVILEGES "))
    {
        return None;
    }
    let body = statement.strip_suffix(';')?;
    let body = body.strip_suffix(" WITH GRANT OPTION").unwrap_or(body);
    let start = if body.ends_with('"') {
        // The opening quote of the last quoted name: the first `"` after which quotes pair up.
        let bytes = body.as_bytes();
        let mut i = bytes.len() - 1;
        loop {
            let j = body[..i].rfind('"')?;
            if j > 0 && bytes[j - 1] == b'"' {
                i = j - 1;
                continue;
            }
            break j;
        }
    } else {
        body.rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).map_or(0, |at| at + 1)
    };
    let before = &body[..start];
    if !(before.ends_with(" TO ") || before.ends_with(" FROM ")) {
        return None;
    }
    let (name, rest) = identifier(&body[start..])?;
    rest.is_empty().then_some((start, name))
}

/// Returns the length of the (possibly quoted) name at the start of `text`.
fn printed_len(text: &str) -> usize {
    identifier(text).map_or(0, |(_, rest)| text.len() - rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_roles_grants_need() {
        let sql = "REVOKE ALL ON FUNCTION public.f() FROM PUBLIC;\nGRANT ALL ON FUNCTION public.f() TO reader;\n\
GRANT SELECT ON TABLE public.t TO \"Odd \"\"Role\" WITH GRANT OPTION;\nGRANT SELECT ON TABLE public.u TO owner_role;\n\
ALTER DEFAULT PRIVILEGES FOR ROLE owner_role IN SCHEMA public GRANT SELECT ON TABLES  TO reader;";
        assert_eq!(roles(sql), ["Odd \"Role", "owner_role", "reader"]);
        let rewritten = for_current_role(sql, "owner_role");
        assert!(rewritten.contains("GRANT SELECT ON TABLE public.u TO CURRENT_ROLE;"), "{rewritten}");
        assert!(
            rewritten.contains("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reader;"),
            "{rewritten}"
        );
        assert_eq!(roles(&rewritten), ["Odd \"Role", "reader"]);
    }
}
