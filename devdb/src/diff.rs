//! Line diffs of two texts, as every check in the workspace shows what differs.

use similar::{udiff::UnifiedHunkHeader, ChangeTag, TextDiff};

/// Lines of unchanged text shown around each change.
const CONTEXT: usize = 3;

/// Returns a unified diff of `old` and `new` (`-` old only, `+` new only, removed lines before
/// added ones, three lines of context, `@@` hunk headers), cut after `max_lines` lines, or `None`
/// when the texts are equal.
pub fn line_diff(old: &str, new: &str, max_lines: usize) -> Option<String> {
    if old == new {
        return None;
    }
    let diff = TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    for group in diff.grouped_ops(CONTEXT) {
        lines.push(UnifiedHunkHeader::new(&group).to_string());
        for change in group.iter().flat_map(|op| diff.iter_changes(op)) {
            let sign = match change.tag() {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            };
            lines.push(format!("{sign}{}", change.value().trim_end_matches(['\n', '\r'])));
        }
    }
    if lines.len() > max_lines {
        let cut = lines.len() - max_lines;
        lines.truncate(max_lines);
        lines.push(format!("... ({cut} more lines)"));
    }
    // Texts that differ only in a final newline have no changed line to show.
    if lines.is_empty() {
        lines.push("(the texts differ only in line endings)".to_string());
    }
    Some(lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_changes_with_context_removed_before_added() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";
        assert_eq!(
            line_diff(old, new, 100).unwrap(),
            "@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n@@ -10,3 +10,4 @@\n j\n k\n l\n+m\n"
        );
        assert_eq!(line_diff("x\nold\ny\n", "x\nnew\ny\n", 100).unwrap(), "@@ -1,3 +1,3 @@\n x\n-old\n+new\n y\n");
        assert_eq!(line_diff("a\n", "a\n", 100), None);
    }

    #[test]
    fn a_long_diff_is_cut_and_says_so() {
        let old: String = (0..50).map(|i| format!("{i}\n")).collect();
        let diff = line_diff(&old, "", 10).unwrap();
        assert_eq!(diff.lines().count(), 11, "{diff}");
        assert!(diff.ends_with("... (41 more lines)\n"), "{diff}");
    }
}
