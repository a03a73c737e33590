//! squawk on the migrations added since the last squash: what a new migration does to a live
//! database (a required column, a blocking index, a table rewrite). The squashed set (the latest
//! squash record says which files it wrote), or before the first squash the pre-launch chain up
//! to `[sdm] exempt_through_version` in `.squawk.toml`, only creates what the first deploy starts
//! from, and is exempt.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context};
use migrator::migrations::{MigrationFile, MigrationSet, TransactionMode};
use serde::Deserialize;
use xshell::{cmd, Shell};

/// squawk's configuration, with the lint's own `[sdm]` section.
pub const CONFIG: &str = ".squawk.toml";

/// The migrations that are not linted: the latest squash's set, or the pre-launch chain.
#[derive(Debug, Clone, Copy)]
enum Exempt {
    /// Before the first squash: every migration up to `exempt_through_version`.
    Through(i32),
    /// The files squash number `.0` wrote, up to version `.1`.
    Squash(u32, i32),
}

impl Exempt {
    /// The highest exempt version: everything above it is linted.
    fn last(self) -> i32 {
        match self {
            Exempt::Through(version) | Exempt::Squash(_, version) => version,
        }
    }
}

impl fmt::Display for Exempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exempt::Through(version) => write!(f, "V{version} (the chain up to it is exempt)"),
            Exempt::Squash(n, version) => write!(f, "V{version} (squash {n}'s set, up to it, is exempt)"),
        }
    }
}

/// What was linted, for the summary line.
#[derive(Debug)]
pub struct Linted {
    files: usize,
    exempt: Exempt,
}

impl fmt::Display for Linted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.files {
            0 => write!(f, "no migrations to lint after {}", self.exempt),
            n => write!(f, "{n} migration(s) after {} pass", self.exempt),
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
    let set = MigrationSet::from_dir(&root.join("migrations"))?;
    let (exempt, new): (Exempt, Vec<&MigrationFile>) = match set.last_squash() {
        Some(record) => {
            let last = record.newest_version().unwrap_or(0);
            (Exempt::Squash(record.squash, last), set.added_since_last_squash().iter().collect())
        }
        None => {
            let last = exempt_through(&config)?;
            (Exempt::Through(last), set.files.iter().filter(|f| f.version > last).collect())
        }
    };
    let (outside, inside): (Vec<&MigrationFile>, Vec<&MigrationFile>) =
        new.iter().partition(|f| f.transaction_mode() == TransactionMode::NoTransaction);
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
            "squawk found {} problem(s) in migrations added after V{}:\n{}\n\
             Change the migration, or accept a finding on purpose: say why in a comment and put \
             `-- squawk-ignore <rule>` on the line before the statement",
            findings.len(),
            exempt.last(),
            list.join("\n")
        );
    }
    Ok(Linted { files: new.len(), exempt })
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
