//! `--help` for one command: cuts its own section out of the help text `xflags` writes for a
//! whole command tree, so `sdm user create --help` shows `user create` and nothing else; and
//! parse errors said for the command they are about, with the nearest name for a typo.

use std::ffi::OsString;

/// One command's section of the help text: its path (`sdm user create`), the names it answers
/// to (an alias after `|`), and its lines.
struct Section<'a> {
    path: String,
    names: Vec<String>,
    text: Vec<&'a str>,
}

impl Section<'_> {
    fn parent(&self) -> &str {
        self.path.rsplit_once(' ').map_or("", |(parent, _)| parent)
    }
}

/// Returns the help of the command that `args` (the arguments after the program name, up to
/// `--help`) names: the whole text for the root command, else that command's section and the
/// sections of its subcommands.
///
/// ```
/// let full = "sdm\n  The tool.\n\nSUBCOMMANDS:\n\nsdm migrate\n  Apply migrations.\n\n\nsdm user\n  Users.\n";
/// let args = ["--json", "migrate", "--help"].map(std::ffi::OsString::from);
/// assert_eq!(app::help::for_command(full, &args), "sdm migrate\n  Apply migrations.\n");
/// ```
pub fn for_command(full: &str, args: &[OsString]) -> String {
    let sections = sections(full);
    let Some(root) = sections.first() else { return full.to_string() };
    let path = command_path(&sections, args);
    if path == root.path {
        return full.to_string();
    }
    let prefix = format!("{path} ");
    let own: Vec<String> = sections
        .iter()
        .filter(|s| s.path == path || s.path.starts_with(&prefix))
        .map(|s| s.text.join("\n").trim_end().to_string())
        .collect();
    own.join("\n\n") + "\n"
}

/// Rewrites `xflags`' parse error `error` for the command `args` reach: a missing argument is
/// named as the command's argument, a mistyped command or flag gets the nearest one that exists,
/// and the error ends with the command's `--help`. `shown_as` is how users type the root
/// command (`sdm`, `cargo xtask`).
///
/// ```
/// let full = "sdm\n  The tool.\n\nSUBCOMMANDS:\n\nsdm migrate\n  Apply migrations.\n";
/// let args = ["migrat"].map(std::ffi::OsString::from);
/// assert_eq!(
///     app::help::explain(full, &args, "unexpected argument: \"migrat\"", "sdm"),
///     "unexpected argument: \"migrat\"; did you mean `sdm migrate`? (see `sdm --help`)"
/// );
/// ```
pub fn explain(full: &str, args: &[OsString], error: &str, shown_as: &str) -> String {
    let sections = sections(full);
    let Some(root) = sections.first() else { return error.to_string() };
    let path = command_path(&sections, args);
    let shown = |path: &str| format!("{shown_as}{}", &path[root.path.len()..]);
    let see = format!("(see `{} --help`)", shown(&path));
    let quoted = |prefix: &str, open: char, close: char| {
        error.strip_prefix(prefix).and_then(|r| r.strip_prefix(open)).and_then(|r| r.strip_suffix(close))
    };
    if let Some(name) = quoted("flag is required: ", '`', '`') {
        let what = if name.starts_with('-') { format!("the flag {name}") } else { format!("its argument <{name}>") };
        return format!("`{}` needs {what} {see}", shown(&path));
    }
    let nearest = |typed: &str, known: Vec<String>| {
        known
            .into_iter()
            .map(|k| (strsim::damerau_levenshtein(typed, &k), k))
            .filter(|(d, k)| *d <= 2.max(k.len() / 3))
            .min()
            .map(|(_, k)| k)
    };
    if let Some(word) = quoted("unexpected argument: ", '"', '"') {
        let commands = sections.iter().filter(|s| s.parent() == path).flat_map(|s| s.names.clone()).collect();
        if let Some(best) = nearest(word, commands) {
            return format!("{error}; did you mean `{} {best}`? {see}", shown(&path));
        }
    }
    if let Some(flag) = quoted("unexpected flag: ", '`', '`') {
        let flags = sections
            .iter()
            .filter(|s| s.path == path || s.path == root.path)
            .flat_map(|s| s.text.iter())
            .flat_map(|line| line.split([' ', ',']))
            .filter(|word| word.starts_with("--") && *word != "--help")
            .map(str::to_string)
            .collect();
        if let Some(best) = nearest(flag, flags) {
            return format!("{error}; did you mean `{best}`? {see}");
        }
    }
    format!("{error} {see}")
}

/// Returns the path of the command `args` name (`sdm user create`): each argument that names a
/// subcommand of the path so far goes down one level; flags and their values leave it as it is.
fn command_path(sections: &[Section<'_>], args: &[OsString]) -> String {
    let mut path = sections.first().map(|root| root.path.clone()).unwrap_or_default();
    for arg in args.iter().filter_map(|a| a.to_str()) {
        if arg == "--help" || arg == "-h" {
            break;
        }
        if let Some(sub) = sections.iter().find(|s| s.parent() == path && s.names.iter().any(|n| n == arg)) {
            path = sub.path.clone();
        }
    }
    path
}

/// Splits `full` into sections: the root's first, then one per line at column 0 that starts with
/// the root command's name and a space (xflags indents everything else).
fn sections(full: &str) -> Vec<Section<'_>> {
    let mut lines = full.lines();
    let Some(first) = lines.next() else { return Vec::new() };
    let root = first.trim();
    let mut sections = vec![Section { path: root.to_string(), names: vec![root.to_string()], text: vec![first] }];
    let header = format!("{root} ");
    for line in lines {
        if line.starts_with(&header) {
            let mut alternatives = line.split(" | ").map(str::trim);
            let path = alternatives.next().unwrap_or(line).to_string();
            let own = path.rsplit(' ').next().unwrap_or("").to_string();
            let names = std::iter::once(own).chain(alternatives.map(str::to_string)).collect();
            sections.push(Section { path, names, text: vec![line] });
        } else if let Some(section) = sections.last_mut() {
            section.text.push(line);
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::{explain, for_command};

    const FULL: &str = "\
tool
  Does things.

OPTIONS:
    -h, --help
      Prints help information.

SUBCOMMANDS:

tool db
  Database commands.


tool db stop
  Stop the server.

  OPTIONS:
    --force
      Even when in use.


tool remove | delete
  Delete a thing.

  ARGS:
    <id>


tool verify
  The gate.
";

    fn help(args: &[&str]) -> String {
        let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        for_command(FULL, &args)
    }

    #[test]
    fn the_root_gets_the_whole_text() {
        assert_eq!(help(&["--help"]), FULL);
        assert_eq!(help(&["-h"]), FULL);
    }

    #[test]
    fn a_subcommand_gets_its_own_section_only() {
        assert_eq!(help(&["verify", "--help"]), "tool verify\n  The gate.\n");
        let stop = help(&["db", "stop", "--force", "--help"]);
        assert!(stop.starts_with("tool db stop\n") && stop.contains("--force"), "{stop}");
        assert!(!stop.contains("Database commands") && !stop.contains("The gate"), "{stop}");
    }

    #[test]
    fn a_parent_gets_its_subcommands_too() {
        let db = help(&["db", "--help"]);
        assert!(db.starts_with("tool db\n") && db.contains("tool db stop"), "{db}");
        assert!(!db.contains("tool verify"), "{db}");
    }

    #[test]
    fn an_alias_and_flag_values_are_understood() {
        assert!(help(&["delete", "--help"]).starts_with("tool remove | delete\n"));
        // `verify` here is a flag's value before the command, not the command.
        assert!(help(&["--name", "x", "db", "--help"]).starts_with("tool db\n"));
    }

    fn explained(args: &[&str], error: &str) -> String {
        let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        explain(FULL, &args, error, "cargo tool")
    }

    #[test]
    fn parse_errors_name_the_command_and_the_nearest_name() {
        assert_eq!(
            explained(&["remove"], "flag is required: `id`"),
            "`cargo tool remove` needs its argument <id> (see `cargo tool remove --help`)"
        );
        assert_eq!(
            explained(&["db", "stp"], "unexpected argument: \"stp\""),
            "unexpected argument: \"stp\"; did you mean `cargo tool db stop`? (see `cargo tool db --help`)"
        );
        assert_eq!(
            explained(&["db", "stop", "--forse"], "unexpected flag: `--forse`"),
            "unexpected flag: `--forse`; did you mean `--force`? (see `cargo tool db stop --help`)"
        );
        assert_eq!(
            explained(&["zzzzzz"], "unexpected argument: \"zzzzzz\""),
            "unexpected argument: \"zzzzzz\" (see `cargo tool --help`)",
            "nothing near: no guess"
        );
    }
}
