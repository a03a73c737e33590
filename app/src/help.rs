//! `--help` for one command: cuts its own section out of the help text `xflags` writes for a
//! whole command tree, so `sdm user create --help` shows `user create` and nothing else.

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
    let mut path = root.path.clone();
    for arg in args.iter().filter_map(|a| a.to_str()) {
        if arg == "--help" || arg == "-h" {
            break;
        }
        // A flag, or a flag's value that names no subcommand here, leaves the path as it is.
        if let Some(sub) = sections.iter().find(|s| s.parent() == path && s.names.iter().any(|n| n == arg)) {
            path = sub.path.clone();
        }
    }
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
    use super::for_command;

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
}
