//! squawk on the migrations added since the last squash: what a new migration does to a live
//! database (a required column, a blocking index, a table rewrite). The squashed set, or before
//! the first squash the pre-launch chain up to `[sdm] exempt_through_version` in `.squawk.toml`,
//! only creates what the first deploy starts from, and is exempt.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context};
use app::migrations::{MigrationFile, MigrationSet};
use serde::Deserialize;
use xshell::{cmd, Shell};

/// squawk's configuration, with the lint's own `[sdm]` section.
pub const CONFIG: &str = ".squawk.toml";

/// A migration's first line that makes the runner apply it outside a transaction.
const NO_TRANSACTION: &str = "-- no-transaction";

/// What was linted, for the summary line.
#[derive(Debug)]
pub struct Linted {
    files: usize,
    exempt_through: i32,
}

impl fmt::Display for Linted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.files {
            0 => write!(f, "no migrations after V{} to lint (those up to it are exempt)", self.exempt_through),
            n => write!(f, "{n} migration(s) after V{} pass", self.exempt_through),
        }
    }
}

/// One squawk finding, as its JSON reporter gives it (line and column counted from 0).
#[derive(Deserialize)]
struct Finding {
    file: String,
    line: usize,
    column: usize,
    rule_name: String,
    message: String,
    help: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line + 1, self.column + 1, self.rule_name, self.message)?;
        match &self.help {
            Some(help) => write!(f, " ({help})"),
            None => Ok(()),
        }
    }
}

/// Lints the migrations under `root/migrations` added after the exempt ones with `squawk`;
/// fails naming each finding's file, line and rule.
pub fn check(root: &Path, squawk: &Path) -> anyhow::Result<Linted> {
    let config = root.join(CONFIG);
    let exempt_through = exempt_through(&config)?;
    let set = MigrationSet::from_dir(&root.join("migrations"))?;
    let new: Vec<&MigrationFile> = set.files.iter().filter(|f| f.version > exempt_through).collect();
    let (outside, inside): (Vec<&MigrationFile>, Vec<&MigrationFile>) =
        new.iter().partition(|f| f.sql.lines().next().is_some_and(|l| l.trim() == NO_TRANSACTION));
    let sh = Shell::new()?;
    sh.change_dir(root);
    let mut findings = Vec::new();
    for (files, transaction) in [(inside, "--assume-in-transaction"), (outside, "--no-assume-in-transaction")] {
        if files.is_empty() {
            continue;
        }
        let paths: Vec<String> = files.iter().map(|f| format!("migrations/{}", f.relative_path())).collect();
        let out = cmd!(sh, "{squawk} --config {config} {transaction} --reporter json {paths...}")
            .quiet()
            .ignore_status()
            .output()
            .context("run squawk")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let found: Vec<Finding> = serde_json::from_str(stdout.trim()).with_context(|| {
            format!(
                "squawk printed no findings list ({}): {stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        findings.extend(found);
    }
    if !findings.is_empty() {
        let list: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
        bail!(
            "squawk found {} problem(s) in migrations added after V{exempt_through}:\n{}\n\
             Change the migration, or accept a finding on purpose: say why in a comment and put \
             `-- squawk-ignore <rule>` on the line before the statement",
            findings.len(),
            list.join("\n")
        );
    }
    Ok(Linted { files: new.len(), exempt_through })
}

/// Reads `exempt_through_version` from the `[sdm]` section of squawk's configuration.
fn exempt_through(config: &Path) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(config).with_context(|| format!("read {}", config.display()))?;
    let mut section = "";
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line;
        } else if let Some(value) = line.strip_prefix("exempt_through_version").filter(|_| section == "[sdm]") {
            let value = value.trim().strip_prefix('=').map(str::trim).unwrap_or("");
            return value.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{}:{}: exempt_through_version must be a migration version, like 23",
                    config.display(),
                    n + 1
                )
            });
        }
    }
    bail!("{} has no `exempt_through_version = <version>` in its [sdm] section", config.display())
}

#[cfg(test)]
mod tests;
