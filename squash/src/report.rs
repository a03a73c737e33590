//! What a squash found and did, printed for people and written as JSON for tools.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{FileKind, Step};
use crate::steps::StepRow;

/// How a squash ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new set replaced the old one.
    Written,
    /// The folder is already squashed: regenerating it gives the same files.
    Unchanged,
    /// A dry run: proven, nothing changed.
    DryRun,
    /// `--check`: squashing would change the folder.
    WouldChange,
}

/// A file of the new set.
#[derive(Debug, Clone, Serialize)]
pub struct NewFile {
    /// Path relative to the migrations folder.
    pub path: PathBuf,
    /// The module whose folder holds it (`None` in a flat set).
    pub module: Option<String>,
    /// What the file is.
    pub kind: FileKind,
    /// Objects (archive entries) in a generated schema file.
    pub objects: usize,
    /// For a kept file: the file it was before.
    pub was: Option<PathBuf>,
}

/// What a squash found and did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The folder squashed.
    pub migrations_dir: PathBuf,
    /// How the squash ended.
    pub outcome: Outcome,
    /// The old migration files, relative to the folder.
    pub before: Vec<PathBuf>,
    /// The new set's files, in the order they run.
    pub after: Vec<NewFile>,
    /// Modules in the order their initial migrations run.
    pub module_order: Vec<Option<String>>,
    /// Rows the chain leaves behind, carried into data migrations.
    pub rows_carried: usize,
    /// Sequences the data migrations set to where the chain left them.
    pub sequences_set: usize,
    /// Where the old files were copied before the swap.
    pub backup: Option<PathBuf>,
    /// Where a dry run left the files it would write.
    pub dry_run_dir: Option<PathBuf>,
    /// Time to build a fresh database from the old chain (replay without bookkeeping).
    pub old_chain_millis: f64,
    /// Time to build a fresh database from the new set.
    pub new_set_millis: Option<f64>,
    /// `old_chain_millis / new_set_millis`.
    pub speedup: Option<f64>,
    /// Time the data step took to read and compare every table's rows and write the data
    /// migrations (without building the new set).
    pub carry_millis: f64,
    /// Each step with its time.
    pub steps: Vec<StepRow<Step>>,
    /// What else a reader should know (leftovers cleaned, columns the proof masked, the record written).
    pub notes: Vec<String>,
}

impl Report {
    /// Returns the human-readable report.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let verdict = match self.outcome {
            Outcome::Written => "squashed",
            Outcome::Unchanged => "already squashed: regenerating gives the same files, nothing written",
            Outcome::DryRun => "dry run: proven, nothing changed",
            Outcome::WouldChange => "not squashed: squash would change the folder",
        };
        out.push_str(&format!("{}: {verdict}\n", self.migrations_dir.display()));
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        out.push_str(&format!("migrations before: {}, after: {}\n", self.before.len(), self.after.len()));
        for file in &self.after {
            let kind = match file.kind {
                FileKind::Initial => format!("initial, {} objects", file.objects),
                FileKind::ForeignKeys => format!("foreign keys, {} objects", file.objects),
                FileKind::Kept => format!("kept, was {}", file.was.as_deref().unwrap_or(Path::new("?")).display()),
                FileKind::Data => "data".to_string(),
            };
            out.push_str(&format!("  {:<55} {kind}\n", file.path.display()));
        }
        if self.rows_carried + self.sequences_set > 0 {
            out.push_str(&format!(
                "carried {} rows and {} sequence positions into data migrations\n",
                self.rows_carried, self.sequences_set
            ));
        }
        match (self.new_set_millis, self.speedup) {
            (Some(new), Some(ratio)) => out.push_str(&format!(
                "fresh database: old chain {:.0} ms, new set {new:.0} ms ({ratio:.1}x)\n",
                self.old_chain_millis
            )),
            _ => out.push_str(&format!("fresh database: old chain {:.0} ms\n", self.old_chain_millis)),
        }
        if let Some(backup) = &self.backup {
            out.push_str(&format!("old files backed up to {}\n", backup.display()));
        }
        if let Some(dir) = &self.dry_run_dir {
            out.push_str(&format!("the files it would write are in {}\n", dir.display()));
        }
        out
    }
}
