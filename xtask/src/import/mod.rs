//! `cargo xtask import <folder>`: brings a chain written for another tool into a new migrations
//! folder (the import engine does the work; this parses flags and prints).

use anyhow::{Context, Result};
use xshell::Shell;

use crate::flags;

impl flags::Import {
    pub(crate) fn run(self, sh: &Shell) -> Result<()> {
        let from = self.from.as_deref().map(import::Tool::parse).transpose()?;
        let modules = self
            .module
            .iter()
            .map(|m| {
                m.split_once('=')
                    .map(|(module, pattern)| (module.to_string(), pattern.to_string()))
                    .with_context(|| format!("--module {m}: write it as module=pattern, e.g. users=users_*"))
            })
            .collect::<Result<Vec<_>>>()?;
        // Paths given are read from where the command runs; the default is the workspace's folder.
        let cwd = std::env::current_dir()?;
        let into = self.into.map_or_else(|| sh.current_dir().join("migrations"), |dir| cwd.join(dir));
        let folder = cwd.join(&self.folder);
        let options = import::Options { from, modules, into, force: self.force };
        let report = import::import(&folder, &options)?;
        for line in report.describe() {
            println!("{line}");
        }
        println!(
            "Next: `cargo xtask squash` works on it like on any chain; `sdm migrate` adopts a database {} migrated \
             (from its {} table)",
            report.tool.name(),
            report.tool.history_table()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;
