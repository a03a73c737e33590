//! Where command results go: text for people, or one JSON document for scripts (`--json`).

use std::ffi::OsString;
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

/// Whether the arguments ask for JSON: `--json` before any `--`. Read from the raw arguments, so
/// that an error parsing the others is JSON too.
pub fn wants_json(args: &[OsString]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| a == "--json")
}

/// Prints `error` with its causes and exits 1: `{"error": "..."}` on stdout with `--json`, else
/// `error: ...` on stderr.
pub fn fail(json: bool, error: &anyhow::Error) -> ! {
    let message = format!("{error:#}");
    if json {
        println!("{}", serde_json::json!({ "error": message }));
    } else {
        eprintln!("error: {message}");
    }
    std::process::exit(1)
}
