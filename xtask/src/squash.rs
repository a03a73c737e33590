//! `cargo xtask squash`: the front end of the squash engine (the `squash` crate), which replaces a
//! migration chain with one proven initial migration per module: flags in, report out.

#[cfg(test)]
pub(crate) mod tests;

use std::path::{Path, PathBuf};

use ::squash::{squash_dir, Options, Outcome};
use anyhow::Context;
use xshell::Shell;

use crate::flags;

impl flags::Squash {
    /// Squashes the migrations folder (default `migrations/`) and prints the report.
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = sh.current_dir();
        let dir = root.join(self.migrations.unwrap_or_else(|| PathBuf::from("migrations")));
        let server = crate::database::server()?;
        let opts = Options {
            dry_run: self.dry_run,
            check: self.check,
            allow_dirty: self.allow_dirty,
            target_dir: target_dir(&root),
            after_step: None,
            quiet: false,
        };
        let report = squash_dir(&server, &dir, &opts)?;
        print!("{}", report.summary());
        if let Some(path) = self.json {
            let text = serde_json::to_string_pretty(&report)?;
            std::fs::write(&path, text + "\n").with_context(|| format!("write {}", path.display()))?;
        }
        if report.outcome == Outcome::WouldChange {
            anyhow::bail!("{} is not squashed: run `cargo xtask squash` and commit the result", dir.display());
        }
        Ok(())
    }
}

/// Returns the cargo target folder: `$CARGO_TARGET_DIR`, else `<workspace>/target`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"))
}
