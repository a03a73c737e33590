//! The squash engine: replaces a migration chain with one proven initial migration per module.
//! One entry point, [`squash_dir`]: a server, a folder and [`Options`] in, a [`Report`] out
//! (`cargo xtask squash` is its command line).
//!
//! Plan, then act. The chain is replayed into a scratch database, recording which migration
//! created each object (see `provenance`). `pg_dump` of that database, split by module
//! (`plan`, `generate`), gives one initial migration per module in foreign-key order; migrations
//! marked `-- squash: keep` follow unchanged; rows the chain leaves behind go into data migrations
//! (`data`). A fresh database built from the new set must match the old chain's schema and rows
//! (`prove`) before the folder is swapped, atomically (`swap`). The new folder holds a record of
//! what was replaced (`record`), so databases migrated with the old chain follow the squash.
//!
//! Squashing a squashed folder regenerates the same bytes, so nothing is written (a fixed point);
//! `--check` fails exactly when a squash would change the folder.

mod cycles;
mod data;
mod facts;
mod generate;
mod header;
mod pg;
mod plan;
mod prove;
mod provenance;
mod record;
mod report;
mod shape;
pub mod steps;
mod swap;
pub mod synthetic;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
mod toc;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use devdb::{Schema, Server};
use migrator::migrations::MigrationSet;
use migrator::schema::Snapshot;
use serde::Serialize;
use xshell::Shell;

use crate::steps::{millis, Steps};
pub use plan::FileKind;
pub use prove::{row_hashes, RowHashes};
pub use report::{NewFile, Outcome, Report};

/// How a squash runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Build and prove the new set, print it, change nothing (the files are left under `target_dir`).
    pub dry_run: bool,
    /// Only find out whether the folder would change (no proof, nothing written).
    pub check: bool,
    /// Proceed although git reports uncommitted changes in the folder.
    pub allow_dirty: bool,
    /// Where backups (`squash-backup/`) and dry-run output (`squash-dry-run/`) go.
    pub target_dir: PathBuf,
    /// Runs after each step; an error stops the squash there (tests simulate kills with it).
    pub after_step: Option<fn(Step) -> anyhow::Result<()>>,
    /// Prints neither the plan nor each step (a caller that reports on its own, as the benchmark).
    pub quiet: bool,
}

/// The steps of a squash, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Clean leftovers of killed runs, refuse uncommitted changes, read the chain.
    Prepare,
    /// Replay the chain into a scratch database, recording which migration created each object.
    Replay,
    /// Generate each module's initial migration from the replayed schema.
    Generate,
    /// Carry the rows the chain leaves behind into data migrations.
    Data,
    /// Prove a fresh database from the new set equals the old chain's.
    Prove,
    /// Swap the folders atomically.
    Swap,
    /// Move the old set into the backup under `target/`.
    Backup,
}

impl Step {
    const ALL: [Step; 7] =
        [Step::Prepare, Step::Replay, Step::Generate, Step::Data, Step::Prove, Step::Swap, Step::Backup];

    fn describe(self) -> &'static str {
        match self {
            Step::Prepare => "prepare: clean up after killed runs, refuse uncommitted changes, read the chain",
            Step::Replay => "replay the chain into a scratch database, recording which migration created each object",
            Step::Generate => {
                "generate one initial migration per module (pg_dump), in foreign-key order; keep marked ones"
            }
            Step::Data => {
                "build the new set in a fresh database, carrying the rows the chain leaves into data migrations"
            }
            Step::Prove => {
                "prove: the new set's database has the old chain's schema and rows; record what the squash replaced"
            }
            Step::Swap => "swap the old folder for the new one in one atomic rename",
            Step::Backup => "move the old files into target/squash-backup/",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// Returns the step runner of a squash of `dir`: a failed step says what state it left the folder in.
fn progress(dir: &Path, opts: &Options) -> Steps<Step> {
    let dir = dir.to_path_buf();
    Steps::new(move |step| {
        let state = match step {
            Step::Backup => format!(
                "the folder holds the new set; the old one is in {} and the next run moves it into the backup",
                swap::sibling(&dir, swap::NEW_SUFFIX).display()
            ),
            _ => format!("{} was not changed", dir.display()),
        };
        format!("squash step `{step}` failed ({state})")
    })
    .after_step(opts.after_step)
    .quiet(opts.quiet)
}

/// Removes a folder when dropped, unless told to keep it.
struct Removed {
    path: PathBuf,
    keep: bool,
}

impl Drop for Removed {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if self.path.exists()
            && let Err(e) = std::fs::remove_dir_all(&self.path)
        {
            eprintln!("warning: could not remove {}: {e}", self.path.display());
            return;
        }
        // The staging folder's "unfinished" marker goes after it, never before.
        let mut marker = self.path.clone().into_os_string();
        marker.push(".unfinished");
        let _ = std::fs::remove_file(marker);
    }
}

/// A file of the new set, with its text.
struct Staged {
    file: NewFile,
    bytes: Vec<u8>,
}

/// Squashes the migrations in `dir` (flat, or one folder per module) using scratch databases on
/// `server`, and returns what it did. The folder ends with the old set or the new, never a mix.
pub fn squash_dir(server: &Server, dir: &Path, opts: &Options) -> anyhow::Result<Report> {
    let sh = Shell::new()?;
    let mut progress = progress(dir, opts);
    let mut notes = Vec::new();
    let last = if opts.check {
        Step::Data
    } else if opts.dry_run {
        Step::Prove
    } else {
        Step::Backup
    };
    if !opts.quiet {
        eprintln!("squash {}:", dir.display());
        for (n, step) in Step::ALL.iter().take_while(|s| **s as u8 <= last as u8).enumerate() {
            eprintln!("  {}. {}", n + 1, step.describe());
        }
    }

    let backup_root = opts.target_dir.join("squash-backup");
    let _lock = swap::lock(dir)?;
    let set = progress.run(Step::Prepare, || {
        notes.extend(swap::clean_leftovers(dir, &backup_root)?);
        anyhow::ensure!(dir.is_dir(), "{} is not a folder", dir.display());
        if !opts.allow_dirty && !opts.dry_run && !opts.check {
            match swap::uncommitted_changes(&sh, dir)? {
                Some(status) if !status.trim().is_empty() => anyhow::bail!(
                    "{} has uncommitted changes; commit them first (the squash replaces these files), or pass \
                     --allow-dirty:\n{status}",
                    dir.display()
                ),
                Some(_) => {}
                None => notes
                    .push(format!("{} is not in a git work tree; not checked for uncommitted changes", dir.display())),
            }
        }
        // A server that cannot be reached fails the squash here, before any other work.
        server.major()?;
        if let Err(e) = server.drop_stale_databases() {
            notes.push(format!("could not drop scratch databases of killed runs: {e:#}"));
        }
        // Before any work: pg_dump and pg_restore older than the server refuse it (devdb says which).
        for tool in ["pg_dump", "pg_restore"] {
            server.bin(tool)?;
        }
        let set = MigrationSet::from_dir(dir).context("read the chain")?;
        anyhow::ensure!(!set.files.is_empty(), "{} holds no migrations", dir.display());
        record::check_recorded(&set)?;
        Ok(set)
    })?;
    let before: Vec<PathBuf> = set.files.iter().map(|f| PathBuf::from(f.relative_path())).collect();

    let work = Removed { path: opts.target_dir.join(format!("squash-work-{}", std::process::id())), keep: false };
    std::fs::create_dir_all(&work.path).with_context(|| format!("create {}", work.path.display()))?;
    let (old_db, provenance) = progress.run(Step::Replay, || {
        let old_db = server.scratch_database("old")?;
        let provenance =
            provenance::replay(&mut *old_db.client()?, &set).context("replay the chain in a scratch database")?;
        Ok((old_db, provenance))
    })?;

    let archive = work.path.join("old.dump");
    let (plan, mut staged, old_schema, old_rows, new_db) = progress.run(Step::Generate, || {
        // CREATE DATABASE costs about as much as replaying a short chain: make the new set's
        // while this step, mostly pg_dump's and pg_restore's work, reads the chain's.
        std::thread::scope(|outer| {
            let new_db = outer.spawn(|| server.scratch_database("new"));
            let generated = generate_files(&sh, server, &old_db, &archive, &provenance, &set, dir);
            let new_db = new_db.join().map_err(|_| anyhow::anyhow!("creating a scratch database panicked"))?;
            let (plan, staged, old_schema, old_rows) = generated?;
            Ok((plan, staged, old_schema, old_rows, new_db?))
        })
    })?;

    // The new set is built next to the folder (same filesystem, for the atomic swap); a dry run
    // or check builds it under target/ instead, leaving the folder's surroundings alone.
    let staging_path = if opts.dry_run || opts.check {
        let name = dir.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "migrations".into());
        opts.target_dir.join("squash-dry-run").join(name)
    } else {
        swap::sibling(dir, swap::NEW_SUFFIX)
    };
    let sibling = !(opts.dry_run || opts.check);
    let mut staging = Removed { path: staging_path, keep: false };
    let stage = |staged: &[Staged]| {
        let files: Vec<(PathBuf, Vec<u8>)> = staged.iter().map(|s| (s.file.path.clone(), s.bytes.clone())).collect();
        swap::stage(dir, &staging.path, &before, &files, sibling)
    };

    // The database built here from the new set is the one the proof compares: the schema files
    // and kept migrations first, then (same runner, same order) the data files computed from it.
    let (data, (new_millis, carry_millis), new_schema, chain_catalog) = progress.run(Step::Data, || {
        stage(&staged)?;
        let mut client = new_db.client()?;
        let started = Instant::now();
        migrator::migrate::migrate(&mut client, &MigrationSet::from_dir(&staging.path)?)
            .context("build a database from the generated schema and the kept migrations")?;
        let mut elapsed = started.elapsed();
        let chain = data::Chain {
            set: &set,
            module_order: &plan.module_order,
            object_modules: &plan.object_modules,
            kept_writes: &provenance.kept_writes,
        };
        let (data, carry_millis, schema, catalog) = std::thread::scope(|scope| {
            // The data files change no schema: dump it (for the proof) while they are computed.
            let schema = (!opts.check).then(|| scope.spawn(|| prove::schema_of(server, &new_db)));
            // The squash record keeps the chain's catalog, for databases that ran the chain.
            let catalog = (!opts.check).then(|| {
                scope.spawn(|| Snapshot::read(&mut *old_db.client()?).context("read the replayed chain's schema"))
            });
            let carry_started = Instant::now();
            let data = data::carry(&mut *old_db.client()?, &mut client, &chain)?;
            let carry_millis = millis(carry_started.elapsed());
            let schema = schema
                .map(|j| j.join().unwrap_or_else(|_| Err(anyhow::anyhow!("pg_dump thread panicked"))))
                .transpose()?;
            let catalog = catalog
                .map(|j| j.join().unwrap_or_else(|_| Err(anyhow::anyhow!("catalog thread panicked"))))
                .transpose()?;
            anyhow::Ok((data, carry_millis, schema, catalog))
        })?;
        std::thread::scope(|scope| {
            // Nothing reads the chain's database any more: drop it while the data files run.
            scope.spawn(move || drop(old_db));
            let first = first_new_version(&set)? + staged.len();
            for (n, (module, text)) in data.files.iter().enumerate() {
                let name = match module {
                    Some(m) => format!("{m}_data"),
                    None => "data".to_string(),
                };
                let file = NewFile {
                    path: new_path(module, first + n, &name),
                    module: module.clone(),
                    kind: FileKind::Data,
                    objects: 0,
                    was: None,
                };
                staged.push(Staged { file, bytes: text.clone().into_bytes() });
            }
            if !data.files.is_empty() {
                stage(&staged)?;
                let started = Instant::now();
                migrator::migrate::migrate(&mut client, &MigrationSet::from_dir(&staging.path)?)
                    .context("apply the generated data migrations")?;
                elapsed += started.elapsed();
            }
            Ok((data, (millis(elapsed), carry_millis), schema, catalog))
        })
    })?;

    let mut report = Report {
        migrations_dir: dir.to_path_buf(),
        outcome: Outcome::Unchanged,
        before: before.clone(),
        after: staged.iter().map(|s| s.file.clone()).collect(),
        module_order: plan.module_order.clone(),
        rows_carried: data.rows,
        sequences_set: data.sequences,
        backup: None,
        dry_run_dir: None,
        old_chain_millis: millis(provenance.chain_time),
        new_set_millis: Some(new_millis),
        speedup: Some(millis(provenance.chain_time) / new_millis.max(0.001)),
        carry_millis,
        steps: Vec::new(),
        notes,
    };

    // The new set is numbered after the chain, so a squashed folder regenerates the same files
    // under higher versions: compare what each file is (its module, name and bytes, in order).
    let current: Vec<(PathBuf, Vec<u8>)> = before
        .iter()
        .map(|rel| {
            Ok((unversioned(rel), std::fs::read(dir.join(rel)).with_context(|| format!("read {}", rel.display()))?))
        })
        .collect::<anyhow::Result<_>>()?;
    let regenerated: Vec<(PathBuf, Vec<u8>)> =
        staged.iter().map(|s| (unversioned(&s.file.path), s.bytes.clone())).collect();
    if current == regenerated {
        for (file, path) in report.after.iter_mut().zip(&before) {
            file.path = path.clone();
        }
        report.steps = progress.rows().to_vec();
        return Ok(report);
    }
    if opts.check {
        report.outcome = Outcome::WouldChange;
        report.steps = progress.rows().to_vec();
        return Ok(report);
    }

    let masked = progress.run(Step::Prove, || {
        let new_rows = row_hashes(&mut *new_db.client()?).context("hash the new set's rows")?;
        let new_schema = new_schema.as_ref().context("the new set's schema was not dumped")?;
        // Only when the schemas differ: does a plain restore of the chain's dump rebuild it?
        let restored = || -> anyhow::Result<Option<Schema>> {
            let db = server.scratch_database("squash_restored")?;
            pg::restore_into(&sh, server, &archive, &db)?;
            Ok(Some(prove::schema_of(server, &db)?))
        };
        let masked = prove::compare(&old_schema, new_schema, &old_rows, &new_rows, restored)
            .context("the new set is not equivalent; nothing was changed")?;
        let chain_catalog = chain_catalog.context("the chain's catalog was not read")?;
        let recorded = record::stage(&sh, dir, &staging.path, &set, chain_catalog, &new_db)?;
        report.notes.push(if opts.dry_run {
            format!(
                "would record the squash in {recorded} and write a new {}; --dry-run wrote nothing under {}",
                migrator::migrations::LOCK_FILE,
                dir.display()
            )
        } else {
            format!(
                "recorded the squash in {recorded} and a new {}: databases migrated with the old chain follow it on \
                 `sdm migrate`",
                migrator::migrations::LOCK_FILE
            )
        });
        Ok(masked)
    })?;
    drop(new_db);
    if !masked.is_empty() {
        report.notes.push(format!(
            "rows compared without {} (volatile defaults: each build writes its own values)",
            masked.join(", ")
        ));
    }
    if opts.dry_run {
        staging.keep = true;
        report.outcome = Outcome::DryRun;
        report.dry_run_dir = Some(staging.path.clone());
        report.steps = progress.rows().to_vec();
        return Ok(report);
    }

    progress.run(Step::Swap, || swap::exchange(dir, &staging.path))?;
    // The folder holds the new set now, and the staging folder the old one: should the move
    // below not happen, the next run finds it there and moves it into the backup.
    staging.keep = true;
    report.outcome = Outcome::Written;
    let backup = progress.run(Step::Backup, || swap::move_to_backup(&staging.path, &backup_root, dir))?;
    report.backup = Some(backup);
    report.steps = progress.rows().to_vec();
    Ok(report)
}

/// What the Generate step makes: the plan, the new set's files, and the old chain's schema and
/// rows for the proof.
type Generated = (plan::Plan, Vec<Staged>, Schema, RowHashes);

/// Dumps the chain's database into `archive` and writes the new set's schema files (and the
/// kept files, copied from `dir`), following the plan.
fn generate_files(
    sh: &Shell,
    server: &Server,
    old_db: &devdb::TestDatabase<'_>,
    archive: &Path,
    provenance: &provenance::Provenance,
    set: &MigrationSet,
    dir: &Path,
) -> anyhow::Result<Generated> {
    pg::dump_custom(sh, server, old_db, archive)?;
    // The listing, the archive's SQL, the catalog facts and the rows (for the proof) only
    // read: get them side by side.
    let (listing, text, facts, old_rows) = std::thread::scope(|scope| {
        let listing = scope.spawn(|| pg::list(&Shell::new()?, server, archive));
        let text = scope.spawn(|| pg::restore_text(&Shell::new()?, server, archive));
        let rows = scope.spawn(|| row_hashes(&mut *old_db.client()?).context("hash the old chain's rows"));
        let facts = old_db.client().map_err(anyhow::Error::from).and_then(|mut c| facts::Facts::read(&mut c));
        let join = |j: std::thread::ScopedJoinHandle<'_, anyhow::Result<String>>| {
            j.join().unwrap_or_else(|_| Err(anyhow::anyhow!("pg_restore thread panicked")))
        };
        let rows = rows.join().unwrap_or_else(|_| Err(anyhow::anyhow!("row hash thread panicked")));
        (join(listing), join(text), facts.context("read the chain's catalog"), rows)
    });
    let entries = toc::parse(&listing?)?;
    let plan = plan::plan(&entries, provenance, set)?;
    let text = text?;
    let chunks = shape::chunks::split(&text, 0..entries.len(), &entries);
    if let Some(unknown) = chunks.iter().find(|c| c.entry.is_none()) {
        anyhow::bail!("pg_restore printed a {} that its own listing does not name:\n{}", unknown.kind, unknown.sql);
    }
    let sources = generate::Sources { entries: &entries, chunks: &chunks, facts: &facts? };
    let texts: Vec<Option<String>> = plan
        .files
        .iter()
        .map(|file| {
            let replaced = match file.kind {
                FileKind::Initial => header::replaced(set, file.module.as_deref()),
                _ => None,
            };
            (file.kind != FileKind::Kept).then(|| generate::schema_sql(&sources, file, replaced.as_ref()))
        })
        .collect();
    let mut staged = Vec::new();
    let first = first_new_version(set)?;
    for (n, (file, text)) in plan.files.iter().zip(texts).enumerate() {
        let path = new_path(&file.module, first + n, &file.name);
        let (bytes, was) = match text {
            Some(text) => (text.into_bytes(), None),
            None => {
                let old = &set.files[file.kept.expect("kept files name their migration")];
                let rel = PathBuf::from(old.relative_path());
                let bytes = std::fs::read(dir.join(&rel)).with_context(|| format!("read {}", old.path.display()))?;
                (bytes, Some(rel))
            }
        };
        let new =
            NewFile { path, module: file.module.clone(), kind: file.kind.clone(), objects: file.entries.len(), was };
        staged.push(Staged { file: new, bytes });
    }
    Ok((plan, staged, Schema::parse(&text), old_rows?))
}

/// Returns the version the new set's first file takes: the one after the chain's last, so that
/// no new file takes an old file's path and a review of the squash reads as files removed and
/// files added (or renamed, for a kept migration), never as unrelated files edited.
fn first_new_version(set: &MigrationSet) -> anyhow::Result<usize> {
    let Some(last) = set.files.iter().max_by_key(|f| f.version) else { return Ok(1) };
    let first = last.version.checked_add(1).with_context(|| {
        format!("cannot number the squashed set after {}: versions stop at {}", last.label(), i32::MAX)
    })?;
    Ok(usize::try_from(first)?)
}

/// Returns `rel` without its version (`users/V4__users_initial.sql` → `users/users_initial.sql`).
pub(crate) fn unversioned(rel: &Path) -> PathBuf {
    let name = rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.split_once("__").map_or(name.as_str(), |(_, name)| name);
    rel.with_file_name(name)
}

/// Returns `<module>/V<version>__<name>.sql` (or without the folder for a flat set).
fn new_path(module: &Option<String>, version: usize, name: &str) -> PathBuf {
    let file = format!("V{version}__{name}.sql");
    match module {
        Some(m) => Path::new(m).join(file),
        None => PathBuf::from(file),
    }
}
