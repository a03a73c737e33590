//! Tidy: the house rules every source file of the workspace keeps, checked by `cargo test`.
//!
//! The rules: a Rust file opens with a `//!` line; a source file has at most 600 lines; a
//! document a file names (a path ending in `.md`) exists in the repository; a test never passes
//! by returning early. Each failure names the file and line and says what to do.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use xshell::{cmd, Shell};

/// The most lines a source file may have, tests included.
const MAX_LINES: usize = 600;

/// Faults allowed on purpose, as (file, rule, reason). An entry that no longer applies fails too,
/// so the list never outlives its reasons.
const ALLOWED: &[(&str, Rule, &str)] = &[];

/// A house rule a file can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// A Rust file opens with a `//!` line saying what it is for.
    OpensWithDoc,
    /// A source file has at most [`MAX_LINES`] lines.
    Length,
    /// A document a file names exists in the repository.
    DocumentExists,
    /// A test fails or shows as skipped; it never passes by returning early.
    NoEarlyReturn,
}

/// One broken rule, at a line of a file.
#[derive(Debug, PartialEq, Eq)]
struct Finding {
    path: String,
    line: usize,
    rule: Rule,
    message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

#[test]
fn the_workspace_keeps_the_house_rules() {
    let root = crate::project_root();
    let files = source_files(&root);
    assert!(files.contains("xtask/src/tidy.rs"), "tidy did not find its own file among {} files", files.len());
    let mut findings = Vec::new();
    for path in &files {
        // Binary files have no lines to check.
        if let Ok(text) = std::fs::read_to_string(root.join(path)) {
            findings.extend(check(path, &text, &files));
        }
    }
    let allowed = |f: &Finding| ALLOWED.iter().any(|(path, rule, _)| f.path == *path && f.rule == *rule);
    let mut failures: Vec<String> = findings.iter().filter(|f| !allowed(f)).map(Finding::to_string).collect();
    for (path, rule, why) in ALLOWED {
        if !findings.iter().any(|f| f.path == *path && f.rule == *rule) {
            failures.push(format!(
                "{path}: allowed to break {rule:?} ({why}) but no longer does; remove it from ALLOWED in xtask/src/tidy.rs"
            ));
        }
    }
    assert!(failures.is_empty(), "{} tidy failure(s):\n{}", failures.len(), failures.join("\n"));
}

/// Returns the workspace's files relative to `root`: what git tracks plus new files it does not
/// ignore, or, outside a git checkout, every file but build output and virtual environments.
fn source_files(root: &Path) -> BTreeSet<String> {
    let sh = Shell::new().expect("make a shell");
    sh.change_dir(root);
    match cmd!(sh, "git ls-files -z --cached --others --exclude-standard").quiet().ignore_stderr().read() {
        Ok(listed) if !listed.is_empty() => {
            listed.split('\0').filter(|p| !p.is_empty() && root.join(p).is_file()).map(str::to_string).collect()
        }
        _ => {
            let mut files = BTreeSet::new();
            walk(root, root, &mut files);
            files
        }
    }
}

/// Adds the files under `dir` to `files`, relative to `root`.
fn walk(root: &Path, dir: &Path, files: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if ![".git", "target", ".venv", "__pycache__", "node_modules"].contains(&name.to_string_lossy().as_ref()) {
                walk(root, &path, files);
            }
        } else if let Ok(rel) = path.strip_prefix(root) {
            files.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Returns every rule `text`, the file at `path` (relative, `/`-separated), breaks; `files` are
/// the repository's files, for the documents it names.
fn check(path: &str, text: &str, files: &BTreeSet<String>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let finding = |line, rule, message: String| Finding { path: path.to_string(), line, rule, message };
    if path.ends_with(".rs") && !text.starts_with("//!") {
        findings.push(finding(
            1,
            Rule::OpensWithDoc,
            "does not open with a `//!` line; start the file with one saying what it is for".to_string(),
        ));
    }
    let lines = text.lines().count();
    if is_source(path, text) && lines > MAX_LINES {
        findings.push(finding(
            MAX_LINES + 1,
            Rule::Length,
            format!("the file has {lines} lines, more than {MAX_LINES}; split it by concern"),
        ));
    }
    for (n, line) in text.lines().enumerate() {
        for document in document_mentions(line) {
            if !document_exists(path, document, files) {
                findings.push(finding(
                    n + 1,
                    Rule::DocumentExists,
                    format!(
                        "names `{document}`, which the repository does not contain; point at a file it has, or say what is meant"
                    ),
                ));
            }
        }
    }
    if path.ends_with(".rs") {
        for (line, message) in early_returns(path, text) {
            findings.push(finding(line, Rule::NoEarlyReturn, message));
        }
    }
    findings
}

/// Whether the length limit applies: Rust, Python and shell files, and scripts with a `#!` line.
fn is_source(path: &str, text: &str) -> bool {
    [".rs", ".py", ".sh"].iter().any(|ext| path.ends_with(ext)) || text.starts_with("#!")
}

/// Returns the `.md` paths `line` names, e.g. `python/README.md` (not `*.md`, not `x.mdx`).
fn document_mentions(line: &str) -> Vec<&str> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_/.-".contains(c);
    let mut mentions = Vec::new();
    let mut from = 0;
    while let Some(at) = line[from..].find(".md") {
        let (stem_end, end) = (from + at, from + at + 3);
        from = end;
        if line[end..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let start =
            line[..stem_end].char_indices().rev().find(|&(_, c)| !is_path_char(c)).map_or(0, |(i, c)| i + c.len_utf8());
        let stem = &line[start..stem_end];
        if !stem.is_empty() && !stem.ends_with('/') && !stem.ends_with('.') {
            mentions.push(&line[start..end]);
        }
    }
    mentions
}

/// Whether `document`, named in the file `path`, is one of `files`: from the root or the file's
/// folder, or (a bare file name) anywhere. `//...` (a URL) is not checked; an absolute path never exists.
fn document_exists(path: &str, document: &str, files: &BTreeSet<String>) -> bool {
    if document.starts_with("//") {
        return true;
    }
    if document.starts_with('/') {
        return false;
    }
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let candidates = [normalize(document), normalize(&format!("{folder}/{document}"))];
    if candidates.iter().flatten().any(|c| files.contains(c)) {
        return true;
    }
    !document.contains('/') && files.iter().any(|f| f.rsplit('/').next() == Some(document))
}

/// Resolves `.` and `..` in a relative `/`-separated path; `None` if it leaves the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Returns the lines (1-based) where a test returns early, with the message: a bare `return`
/// (`return;`, `return,`, `return }`, `return Ok(())`) in a `#[test]` fn, or in a `macro_rules!`
/// of test code (a `tests` folder or file, or after `#[cfg(test)]`), which returns from its caller.
fn early_returns(path: &str, text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut test_code = path.split('/').any(|part| part == "tests" || part == "tests.rs");
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim();
        test_code |= trimmed == "#[cfg(test)]";
        let block = if trimmed == "#[test]" {
            let start = (i + 1..lines.len()).find(|&k| lines[k].contains("fn "));
            start.map(|k| (k, format!("test `{}` can pass", name_after(lines[k], "fn "))))
        } else if test_code && trimmed.starts_with("macro_rules!") {
            Some((i, format!("macro `{}` lets the tests that use it pass", name_after(lines[i], "macro_rules!"))))
        } else {
            None
        };
        let Some((start, what)) = block else {
            i += 1;
            continue;
        };
        let end = block_end(&lines, start);
        for (k, line) in lines.iter().enumerate().take(end + 1).skip(start) {
            if has_bare_return(line) {
                found.push((
                    k + 1,
                    format!(
                        "{what} by returning early; let it fail, or mark it `#[ignore = \"why\"]` so it shows as skipped"
                    ),
                ));
            }
        }
        i = end + 1;
    }
    found
}

/// Returns the identifier after `keyword` in `line`.
fn name_after<'a>(line: &'a str, keyword: &str) -> &'a str {
    let rest = line.split_once(keyword).map_or("", |(_, rest)| rest.trim_start());
    rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("")
}

/// Returns the last line of the block opened on line `start`: the first later line that is its
/// closing brace at the same indentation (rustfmt's layout), or `start` for a one-line block.
fn block_end(lines: &[&str], start: usize) -> usize {
    let indent = lines[start].len() - lines[start].trim_start().len();
    if lines[start].trim_end().ends_with('}') {
        return start;
    }
    let closing = format!("{}}}", &lines[start][..indent]);
    (start + 1..lines.len()).find(|&k| lines[k].trim_end() == closing).unwrap_or(lines.len().saturating_sub(1))
}

/// Whether the code of `line` (strings and `//` comments left out) holds a bare `return`.
fn has_bare_return(line: &str) -> bool {
    let code = code_of(line);
    let mut from = 0;
    while let Some(at) = code[from..].find("return") {
        let (start, end) = (from + at, from + at + "return".len());
        from = end;
        let is_word = |c: char| c.is_alphanumeric() || c == '_';
        if code[..start].ends_with(is_word) || code[end..].starts_with(is_word) {
            continue;
        }
        let rest = code[end..].trim_start();
        if rest.is_empty() || rest.starts_with([';', ',', '}']) || rest.starts_with("Ok(())") {
            return true;
        }
    }
    false
}

/// Returns `line` with the contents of string literals blanked and a `//` comment cut off.
fn code_of(line: &str) -> String {
    let mut code = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_string = false;
                    code.push('"');
                }
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            code.push('"');
        } else if c == '\'' && chars.peek() == Some(&'"') {
            // The character literal '"' opens no string.
            chars.next();
        } else if c == '/' && chars.peek() == Some(&'/') {
            break;
        } else {
            code.push(c);
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(path: &str, text: &str) -> Vec<(usize, Rule)> {
        let files: BTreeSet<String> = ["README.md", "python/README.md", "app/src/lib.rs"].map(String::from).into();
        check(path, text, &files).into_iter().map(|f| (f.line, f.rule)).collect()
    }

    #[test]
    fn a_rust_file_opens_with_a_doc_line() {
        assert_eq!(rules("a/b.rs", "//! Does one thing.\nfn f() {}\n"), []);
        assert_eq!(rules("a/b.rs", "// Does one thing.\nfn f() {}\n"), [(1, Rule::OpensWithDoc)]);
        assert_eq!(rules("a/b.rs", "\n//! Late.\n"), [(1, Rule::OpensWithDoc)]);
        assert_eq!(rules("a/b.py", "import os\n"), [], "only Rust files");
    }

    #[test]
    fn a_source_file_has_at_most_600_lines() {
        let long = format!("//! Long.\n{}", "x\n".repeat(MAX_LINES));
        assert_eq!(rules("a/b.rs", &long), [(MAX_LINES + 1, Rule::Length)]);
        assert_eq!(rules("a/b.rs", &long[..long.len() - 2]), [], "600 lines are fine");
        assert_eq!(rules("a/b.py", &long), [(MAX_LINES + 1, Rule::Length)]);
        assert_eq!(rules(".ci/run", &format!("#!/bin/sh\n{long}")), [(MAX_LINES + 1, Rule::Length)]);
        assert_eq!(rules("migrations/V1__x.sql", &long), [], "SQL is data, not source");
    }

    #[test]
    fn a_named_document_exists() {
        // Built, so that this file names no missing document itself.
        let missing = concat!("NOTES", ".md");
        let misplaced = concat!("docs/README", ".md");
        assert_eq!(rules("a/b.txt", "see README.md and python/README.md\n"), []);
        assert_eq!(rules("xtask/src/x.py", "# see ./README.md, ../../python/README.md\n"), []);
        assert_eq!(rules("a/b.txt", &format!("one\nsee {missing}, as said\n")), [(2, Rule::DocumentExists)]);
        assert_eq!(rules("a/b.txt", &format!("see {misplaced}\n")), [(1, Rule::DocumentExists)], "paths are exact");
        assert_eq!(rules("a/b.txt", &format!("see /elsewhere/{missing}\n")), [(1, Rule::DocumentExists)]);
        assert_eq!(rules("a/b.txt", &format!("any *.md file, an x.mdx, https://example.org/{missing}\n")), []);
        let message = &check("a/b.txt", &format!("see {missing}"), &BTreeSet::new())[0].message;
        assert!(message.contains(&format!("`{missing}`")) && message.contains("does not contain"), "{message}");
    }

    #[test]
    fn a_test_does_not_pass_by_returning_early() {
        let test = |body: &str| format!("//! T.\n\n#[test]\nfn skips() {{\n{body}\n}}\n");
        assert_eq!(
            rules("a/tests/t.rs", &test("    if skip() {\n        return;\n    }\n    assert!(true);")),
            [(6, Rule::NoEarlyReturn)]
        );
        assert_eq!(rules("a/b.rs", &test("    let Ok(x) = var(\"X\") else { return };")), [(5, Rule::NoEarlyReturn)]);
        assert_eq!(
            rules("a/b.rs", &test("    match p { Some(p) => p, None => return, };")),
            [(5, Rule::NoEarlyReturn)]
        );
        assert_eq!(rules("a/b.rs", &test("    if skip() { return Ok(()) }\n    Ok(())")), [(5, Rule::NoEarlyReturn)]);
        // What is not a skip: returning a value from a closure, the word in a string or comment,
        // `return` outside tests, and code after the test.
        let fine = test("    let f = |x| { return x + 1; };\n    assert_eq!(f(1), 2, \"no return;\"); // return;");
        assert_eq!(rules("a/b.rs", &fine), []);
        assert_eq!(rules("a/b.rs", "//! T.\nfn helper() {\n    return;\n}\n"), []);
        assert_eq!(rules("a/b.rs", &format!("{}fn after() {{\n    return;\n}}\n", test("    assert!(true);"))), []);
    }

    #[test]
    fn a_macro_in_test_code_does_not_return_from_its_caller() {
        let skip = "//! T.\nmacro_rules! or_skip {\n    ($e:expr) => {\n        match $e { Some(v) => v, None => return }\n    };\n}\n";
        assert_eq!(rules("app/tests/t.rs", skip), [(4, Rule::NoEarlyReturn)]);
        assert_eq!(rules("app/src/t.rs", skip), [], "outside test code a macro may return");
        let in_cfg_test = skip.replace("macro_rules!", "#[cfg(test)]\nmacro_rules!");
        assert_eq!(rules("app/src/t.rs", &in_cfg_test), [(5, Rule::NoEarlyReturn)]);
    }

    #[test]
    fn findings_name_the_file_and_line_and_say_what_to_do() {
        let text = "#[test]\nfn t() {\n    return;\n}\n";
        let shown: Vec<String> = check("x/y.rs", text, &BTreeSet::new()).iter().map(Finding::to_string).collect();
        assert_eq!(
            shown,
            [
                "x/y.rs:1: does not open with a `//!` line; start the file with one saying what it is for",
                "x/y.rs:3: test `t` can pass by returning early; let it fail, or mark it `#[ignore = \"why\"]` so it shows as skipped",
            ]
        );
    }

    #[test]
    fn paths_normalize_within_the_root() {
        assert_eq!(normalize("python/../README.md").as_deref(), Some("README.md"));
        assert_eq!(normalize("./a//b.sql").as_deref(), Some("a/b.sql"));
        assert_eq!(normalize("../x.sql"), None);
    }
}
