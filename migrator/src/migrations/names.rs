//! Migration file names: parsing `V<version>__<name>.sql`, and saying what is wrong with any other
//! name, with a suggestion when one is easy to guess.

/// Files that may sit in a migrations folder without being migrations.
pub(super) const ALLOWED_EXTRAS: &[&str] = &["README.md", ".gitkeep"];

/// What a migration file name must look like, for error messages.
const NAME_RULE: &str = "name it V<version>__<name>.sql: a capital V, the version number, two underscores, \
                         then a name of letters, digits and underscores (refinery skips any other name \
                         without a warning, so the migration would never run)";

/// Parses `V<version>__<name>.sql` into version and name, or says what is wrong with the name.
pub(super) fn parse_file_name(file_name: &str) -> Result<(i32, String), String> {
    let Some(stem) = file_name.strip_suffix(".sql") else {
        return Err(format!(
            "`{file_name}` is not a migration: only V<version>__<name>.sql files (and {}) belong in a \
             migrations folder; move it elsewhere",
            ALLOWED_EXTRAS.join(", ")
        ));
    };
    let problem = name_problem(stem);
    match problem {
        None => {
            let digits_end = stem[1..].find(|c: char| !c.is_ascii_digit()).map_or(stem.len(), |i| i + 1);
            let version = stem[1..digits_end].parse::<i32>().map_err(|_| {
                format!(
                    "`{file_name}`: version {} is too large (refinery versions are 32-bit, at most {}); \
                     use the next free version",
                    &stem[1..digits_end],
                    i32::MAX
                )
            })?;
            if version == i32::MAX {
                return Err(format!(
                    "`{file_name}`: version {version} is the largest refinery's 32-bit versions allow, and is kept \
                     free so that a later migration always has a version to take; use a smaller one"
                ));
            }
            Ok((version, stem[digits_end + 2..].to_string()))
        }
        Some(problem) => {
            let suggestion = suggest_name(stem);
            let example = match suggestion {
                Some(s) if s != file_name => format!(", e.g. `{s}`"),
                _ => String::new(),
            };
            Err(format!("`{file_name}` is not a valid migration name: {problem}; {NAME_RULE}{example}"))
        }
    }
}

/// Returns what is wrong with a migration file stem, or `None` when it is valid.
fn name_problem(stem: &str) -> Option<String> {
    let mut chars = stem.chars();
    match chars.next() {
        Some('V') => {}
        Some('v') => return Some("the prefix must be a capital `V`".into()),
        Some('U') | Some('u') => {
            return Some(
                "refinery's unversioned (`U`) migrations are not used here; every migration is versioned (`V`)".into(),
            )
        }
        _ => return Some("it must start with `V` and the version number".into()),
    }
    let rest = &stem[1..];
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return Some("the version number must follow the `V`".into());
    }
    let after = &rest[digits..];
    let Some(name) = after.strip_prefix("__") else {
        if after.starts_with('_') {
            return Some("version and name must be separated by two underscores, not one".into());
        }
        if after.starts_with('.') {
            return Some("versions are whole numbers".into());
        }
        return Some("the version must be followed by two underscores and the name".into());
    };
    if name.is_empty() {
        return Some("the name after `__` is empty".into());
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Some(format!("`{bad}` is not allowed in the name"));
    }
    None
}

/// Suggests a valid file name close to `stem`, when one is easy to guess.
fn suggest_name(stem: &str) -> Option<String> {
    let rest = stem.strip_prefix(['V', 'v', 'U', 'u'])?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let name: String = rest[digits.len()..]
        .trim_start_matches('_')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.trim_matches('_').is_empty() {
        return None;
    }
    Some(format!("V{digits}__{name}.sql"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_names() {
        assert_eq!(parse_file_name("V1__users_initial.sql"), Ok((1, "users_initial".into())));
        assert_eq!(parse_file_name("V023__A_b9.sql"), Ok((23, "A_b9".into())));
        assert_eq!(parse_file_name("V5__a__b.sql"), Ok((5, "a__b".into())));
        assert_eq!(parse_file_name("V2147483646__x.sql"), Ok((i32::MAX - 1, "x".into())));
    }

    #[test]
    fn keeps_the_largest_version_free() {
        let error = parse_file_name("V2147483647__x.sql").unwrap_err();
        assert!(error.contains("version 2147483647 is the largest"), "{error}");
        assert!(parse_file_name("V2147483648__x.sql").unwrap_err().contains("too large"));
    }

    #[test]
    fn explains_each_bad_name() {
        let cases = [
            ("V7_x.sql", "two underscores, not one", Some("V7__x.sql")),
            ("V8__has-dash.sql", "`-` is not allowed", Some("V8__has_dash.sql")),
            ("v9__x.sql", "capital `V`", Some("V9__x.sql")),
            ("U3__x.sql", "unversioned", Some("V3__x.sql")),
            ("V__x.sql", "version number must follow", None),
            ("V1.5__x.sql", "whole numbers", None),
            ("V2__.sql", "name after `__` is empty", None),
            ("add_users.sql", "must start with `V`", None),
        ];
        for (name, problem, suggestion) in cases {
            let message = parse_file_name(name).unwrap_err();
            assert!(message.contains(&format!("`{name}`")), "{message}");
            assert!(message.contains(problem), "{name}: {message}");
            assert!(message.contains("V<version>__<name>.sql"), "{message}");
            if let Some(s) = suggestion {
                assert!(message.contains(&format!("e.g. `{s}`")), "{message}");
            }
        }
        assert!(parse_file_name("V99999999999__x.sql").unwrap_err().contains("too large"));
        assert!(parse_file_name("notes.txt").unwrap_err().contains("not a migration"));
    }
}
