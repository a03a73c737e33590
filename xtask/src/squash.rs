//! `cargo xtask squash`: replaces a migration chain with one proven initial migration per module.

use std::path::PathBuf;

use xshell::Shell;

/// The `squash` command's flags.
pub struct Squash {
    pub migrations: Option<PathBuf>,
    pub dry_run: bool,
    pub check: bool,
    pub allow_dirty: bool,
    pub json: Option<PathBuf>,
}

impl Squash {
    /// Squashes the migrations folder and prints the report.
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let _ = (self.migrations, self.dry_run, self.check, self.allow_dirty, self.json);
        anyhow::bail!("squash is not implemented yet")
    }
}

/// Prints squash benchmark figures.
pub fn bench(_sh: &Shell) -> anyhow::Result<()> {
    println!("squash benchmarks: not implemented yet");
    Ok(())
}
