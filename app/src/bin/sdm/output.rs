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

/// A failure the command has already printed in its one JSON document, under `"error"`.
///
/// `sdm check` and `sdm showmigrations` print their result and then fail; with `--json` stdout
/// must still hold one document, so the error goes into theirs instead of a second one.
#[derive(Debug)]
pub struct Reported(anyhow::Error);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Reported {}

impl Output {
    /// Prints `value` (with `"error": error` added) or the text, then returns `error` marked as
    /// [`Reported`], so that [`fail`] prints it on stderr in text mode and nothing more with `--json`.
    pub fn print_failure(
        &self,
        mut value: serde_json::Value,
        text: impl FnOnce() -> String,
        error: anyhow::Error,
    ) -> anyhow::Result<()> {
        value["error"] = serde_json::Value::String(format!("{error:#}"));
        self.print(&value, text)?;
        Err(Reported(error).into())
    }
}

/// Prints `error` with its causes and exits 1: `{"error": "..."}` on stdout with `--json` (unless
/// the command's own document holds it already), else `error: ...` on stderr.
pub fn fail(json: bool, error: &anyhow::Error) -> ! {
    let message = format!("{error:#}");
    match (json, error.is::<Reported>()) {
        (true, true) => {}
        (true, false) => println!("{}", serde_json::json!({ "error": message })),
        (false, _) => eprintln!("error: {message}"),
    }
    std::process::exit(1)
}
