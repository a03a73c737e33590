//! `cargo xtask fixtures`: regenerate the load-journeys migration from `fixtures/journeys/`.

use std::path::Path;

use anyhow::{bail, Context};
use xshell::Shell;

use crate::flags;

impl flags::Fixtures {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = sh.current_dir();
        if self.check {
            check(&root)?;
            println!("fixtures: the load-journeys migration is up to date");
            return Ok(());
        }
        let (path, fresh, current) = generate(&root)?;
        if fresh == current {
            println!("{} is up to date", path.display());
        } else if self.dry_run {
            println!("would rewrite {}:", path.display());
            print!("{}", devdb::line_diff(&current, &fresh, usize::MAX).unwrap_or_default());
        } else {
            write_atomically(&path, &fresh)?;
            println!("wrote {}", path.display());
        }
        Ok(())
    }
}

/// Fails when the committed load-journeys migration differs from what the fixtures generate.
pub fn check(root: &Path) -> anyhow::Result<()> {
    let (path, fresh, current) = generate(root)?;
    if fresh != current {
        let diff = devdb::line_diff(&current, &fresh, 40).unwrap_or_default();
        let shown: String = diff.lines().map(|l| format!("  {l}\n")).collect();
        bail!(
            "{} is stale: it does not match fixtures/journeys/.\n{shown}Run `cargo xtask fixtures` and commit the result.",
            path.strip_prefix(root).unwrap_or(&path).display()
        );
    }
    Ok(())
}

/// Returns the migration's path, the SQL the fixtures generate, and the SQL on disk.
fn generate(root: &Path) -> anyhow::Result<(std::path::PathBuf, String, String)> {
    let journeys = app::fixtures::load_dir(&root.join("fixtures/journeys"))?;
    let path = app::fixtures::migration_path(&root.join("migrations"))?;
    let current = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    Ok((path, app::fixtures::to_sql(&journeys), current))
}

/// Writes through a temporary file and a rename, so a crash leaves the old file or the new one.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("sql.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename {} to {}", tmp.display(), path.display()))
}
