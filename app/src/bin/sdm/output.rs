//! Where command results go: text for people, or one JSON document for scripts (`--json`).

use std::io::Write;

use anyhow::Context;
use serde::Serialize;

/// How results are printed, chosen once by `--json`.
pub struct Output {
    /// Print `value` as pretty JSON instead of the text.
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON, or the text `text` renders, followed by a newline.
    pub fn print<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
        let rendered = if self.json { serde_json::to_string_pretty(value)? } else { text() };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{rendered}").context("write to standard output")?;
        Ok(())
    }
}
