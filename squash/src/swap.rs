//! Replaces the migrations folder so that, killed at any moment, it holds the old set or the new
//! one, never a mix.
//!
//! The new set is written into a sibling `DIR.squash-new` (same filesystem), with a file
//! `DIR.squash-new.unfinished` next to it while that is under way. Then one
//! `renameat2(RENAME_EXCHANGE)` swaps the two folders: a single atomic step, with no moment where
//! `DIR` is missing or half-written. The sibling now holds the old set, and is moved (a rename)
//! into the backup under `target/squash-backup/`. Nothing before the exchange touches `DIR`.
//!
//! A killed run leaves at most the sibling behind, and the next run puts it right before doing
//! anything else: an unfinished new set is removed; a sibling without the marker holds the old set
//! (killed between the exchange and the backup) and is moved into the backup. Where the filesystem
//! cannot exchange, two renames via `DIR.squash-old` are used instead, and a run killed between
//! them is repaired by the next one (`DIR` missing and `DIR.squash-old` present: put it back).

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use xshell::{cmd, Shell};

/// Suffix of the folder the new set is written into.
pub const NEW_SUFFIX: &str = ".squash-new";
/// Suffix of the old set's folder while a non-atomic fallback swap is under way.
pub const OLD_SUFFIX: &str = ".squash-old";

/// Returns `dir` with `suffix` appended to its last component.
pub fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    dir.with_file_name(name)
}

/// Suffix of the file that marks the staging folder as unfinished, until just before the
/// exchange (next to the folder: a migrations folder may hold nothing but migrations).
const UNFINISHED_SUFFIX: &str = ".squash-new.unfinished";

/// Repairs what an interrupted run left next to `dir`; returns what it did. A staging folder
/// that was never swapped in is removed; one holding the old set (the run was killed between the
/// exchange and the backup) is moved into the backup.
pub fn clean_leftovers(dir: &Path, backup_root: &Path) -> anyhow::Result<Vec<String>> {
    let mut notes = Vec::new();
    let old = sibling(dir, OLD_SUFFIX);
    if !dir.exists() && old.is_dir() {
        fs::rename(&old, dir).with_context(|| format!("restore {} from {}", dir.display(), old.display()))?;
        notes.push(format!("restored {} from {} (a run was killed mid-swap)", dir.display(), old.display()));
    }
    if old.exists() {
        fs::remove_dir_all(&old).with_context(|| format!("remove leftover {}", old.display()))?;
        notes.push(format!("removed {} left by an interrupted run", old.display()));
    }
    let new = sibling(dir, NEW_SUFFIX);
    let unfinished = sibling(dir, UNFINISHED_SUFFIX);
    if unfinished.exists() {
        if new.exists() {
            fs::remove_dir_all(&new).with_context(|| format!("remove leftover {}", new.display()))?;
            notes.push(format!("removed the unfinished new set {} left by an interrupted run", new.display()));
        }
        fs::remove_file(&unfinished).with_context(|| format!("remove {}", unfinished.display()))?;
    } else if new.exists() {
        let backup = move_to_backup(&new, backup_root, dir)?;
        notes.push(format!("moved {} (the old set of an interrupted run) to {}", new.display(), backup.display()));
    }
    Ok(notes)
}

/// Moves the old set (in `old_set`) to `<root>/<UTC timestamp>-<pid>/<name of dir>` and returns
/// that path; copies, then removes, when `root` is on another filesystem.
pub fn move_to_backup(old_set: &Path, root: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let name = dir.file_name().context("the migrations folder has no name")?;
    let parent = root.join(format!("{}-{}", utc_timestamp(), std::process::id()));
    fs::create_dir_all(&parent).with_context(|| format!("create {}", parent.display()))?;
    let dest = parent.join(name);
    if fs::rename(old_set, &dest).is_err() {
        copy_tree(old_set, &dest, Path::new(""), &|_| true)
            .with_context(|| format!("back up {} to {}", old_set.display(), dest.display()))?;
        fs::remove_dir_all(old_set).with_context(|| format!("remove {}", old_set.display()))?;
    }
    Ok(dest)
}

/// An exclusive lock on the folder that holds the migrations folder, so two squashes of one
/// folder cannot interleave (the folder itself is swapped, its parent stays).
pub struct FolderLock {
    parent: fs::File,
}

impl Drop for FolderLock {
    /// Unlocks before the file closes: a child process another thread forked in the meantime
    /// shares the open file until it execs, and closing alone would leave the lock held until then
    /// (the next squash of the folder, a moment later, found it taken).
    fn drop(&mut self) {
        let _ = self.parent.unlock();
    }
}

/// Takes the lock for squashing `dir`, or fails naming the folder when another squash holds it.
pub fn lock(dir: &Path) -> anyhow::Result<FolderLock> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file = fs::File::open(parent).with_context(|| format!("open {}", parent.display()))?;
    // The lock ends when the file is closed, however the process ends.
    match file.try_lock() {
        Ok(()) => Ok(FolderLock { parent: file }),
        Err(fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another squash is running on {} (it holds a lock on {}); wait for it",
            dir.display(),
            parent.display()
        ),
        Err(fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("lock {}", parent.display())),
    }
}

/// Returns `git status --porcelain` for `dir`, or `None` when it is not in a git work tree.
pub fn uncommitted_changes(sh: &Shell, dir: &Path) -> anyhow::Result<Option<String>> {
    let _cwd = sh.push_dir(dir);
    let inside = cmd!(sh, "git rev-parse --is-inside-work-tree").quiet().ignore_status().output();
    match inside {
        Ok(out) if out.status.success() => {}
        _ => return Ok(None),
    }
    let status = cmd!(sh, "git status --porcelain -- .").quiet().read().context("git status")?;
    Ok(Some(status))
}

/// Writes the new set into `staging`: everything in `dir` that is not an old migration file
/// (READMEs, `.gitkeep`, module folders), plus `files` (paths relative to the folder). With
/// `marked`, a file next to `dir` marks it unfinished until [`exchange`] takes it in.
pub fn stage(
    dir: &Path,
    staging: &Path,
    old_files: &[PathBuf],
    files: &[(PathBuf, Vec<u8>)],
    marked: bool,
) -> anyhow::Result<()> {
    if marked {
        let marker = sibling(dir, UNFINISHED_SUFFIX);
        fs::write(&marker, "").with_context(|| format!("write {}", marker.display()))?;
    }
    if staging.exists() {
        fs::remove_dir_all(staging).with_context(|| format!("remove {}", staging.display()))?;
    }
    fs::create_dir_all(staging).with_context(|| format!("create {}", staging.display()))?;
    copy_tree(dir, staging, Path::new(""), &|rel| !old_files.iter().any(|f| f == rel))?;
    for (rel, bytes) in files {
        let path = staging.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
        }
        fs::write(&path, bytes).with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

/// Swaps `dir` and `staging` atomically; afterwards `staging` holds the old set.
pub fn exchange(dir: &Path, staging: &Path) -> anyhow::Result<()> {
    let marker = sibling(dir, UNFINISHED_SUFFIX);
    if marker.exists() {
        fs::remove_file(&marker).with_context(|| format!("remove {}", marker.display()))?;
    }
    let a = CString::new(dir.as_os_str().as_bytes())?;
    let b = CString::new(staging.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::ENOTSUP) => {
            // No atomic exchange here: two renames, repaired by `clean_leftovers` if cut between.
            let old = sibling(dir, OLD_SUFFIX);
            fs::rename(dir, &old).with_context(|| format!("move {} aside", dir.display()))?;
            fs::rename(staging, dir).with_context(|| format!("move {} into place", staging.display()))?;
            fs::rename(&old, staging).with_context(|| format!("move {} to {}", old.display(), staging.display()))?;
            Ok(())
        }
        _ => Err(err).with_context(|| format!("exchange {} with {}", dir.display(), staging.display())),
    }
}

fn copy_tree(from: &Path, to: &Path, rel: &Path, keep: &dyn Fn(&Path) -> bool) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("create {}", to.display()))?;
    let mut entries: Vec<_> = fs::read_dir(from)
        .with_context(|| format!("read {}", from.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("read {}", from.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let rel = rel.join(entry.file_name());
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target, &rel, keep)?;
        } else if keep(&rel) {
            fs::copy(entry.path(), &target).with_context(|| format!("copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Returns the current UTC time as `YYYYMMDDTHHMMSSZ`.
pub fn utc_timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    compact_timestamp(now)
}

/// Returns the UTC time `since_epoch` after 1970 as `YYYYMMDDTHHMMSSZ` (`20261124T160547Z`).
fn compact_timestamp(since_epoch: std::time::Duration) -> String {
    // A time past what the calendar holds (year 9999) is named as its last instant.
    let t = time::Duration::try_from(since_epoch)
        .ok()
        .and_then(|d| time::OffsetDateTime::UNIX_EPOCH.checked_add(d))
        .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc());
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_folders_are_named_by_utc_time() {
        assert_eq!(compact_timestamp(std::time::Duration::from_secs(20_416 * 86_400 + 3_661)), "20251124T010101Z");
        assert_eq!(compact_timestamp(std::time::Duration::ZERO), "19700101T000000Z");
        assert_eq!(compact_timestamp(std::time::Duration::from_secs(19_782 * 86_400 + 86_399)), "20240229T235959Z");
        assert_eq!(compact_timestamp(std::time::Duration::from_secs(u64::MAX)), "99991231T235959Z");
        assert_eq!(utc_timestamp().len(), "20251124T010101Z".len());
    }

    #[test]
    fn one_squash_at_a_time_per_folder() {
        let root = std::env::temp_dir().join(format!("squash-lock-{}", std::process::id()));
        fs::create_dir_all(root.join("migrations")).unwrap();
        let held = lock(&root.join("migrations")).unwrap();
        let error = lock(&root.join("migrations")).err().unwrap().to_string();
        assert!(error.contains("another squash is running"), "{error}");
        drop(held);
        lock(&root.join("migrations")).unwrap();
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn exchanges_two_folders_and_cleans_leftovers() {
        let root = std::env::temp_dir().join(format!("squash-swap-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dir = root.join("migrations");
        fs::create_dir_all(dir.join("users")).unwrap();
        fs::write(dir.join("users/V1__a.sql"), "old").unwrap();
        fs::write(dir.join("README.md"), "readme").unwrap();
        let staging = sibling(&dir, NEW_SUFFIX);
        let new = [(PathBuf::from("users/V1__b.sql"), b"new".to_vec())];
        stage(&dir, &staging, &[PathBuf::from("users/V1__a.sql")], &new, true).unwrap();
        // An unfinished staging folder is simply removed.
        let backups = root.join("backups");
        assert_eq!(clean_leftovers(&dir, &backups).unwrap().len(), 1);
        assert!(!staging.exists() && !backups.exists());
        stage(&dir, &staging, &[PathBuf::from("users/V1__a.sql")], &new, true).unwrap();
        exchange(&dir, &staging).unwrap();
        assert!(!sibling(&dir, UNFINISHED_SUFFIX).exists());
        assert_eq!(fs::read_to_string(dir.join("users/V1__b.sql")).unwrap(), "new");
        assert_eq!(fs::read_to_string(dir.join("README.md")).unwrap(), "readme");
        assert!(!dir.join("users/V1__a.sql").exists());
        assert_eq!(fs::read_to_string(staging.join("users/V1__a.sql")).unwrap(), "old");
        // Killed after the exchange: the old set goes into the backup.
        let notes = clean_leftovers(&dir, &backups).unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(!staging.exists());
        let backup = fs::read_dir(&backups).unwrap().next().unwrap().unwrap().path().join("migrations");
        assert_eq!(fs::read_to_string(backup.join("users/V1__a.sql")).unwrap(), "old");
        // A fallback swap cut between its renames: the old set is put back.
        fs::rename(&dir, sibling(&dir, OLD_SUFFIX)).unwrap();
        clean_leftovers(&dir, &backups).unwrap();
        assert!(dir.join("users/V1__b.sql").exists());
        fs::remove_dir_all(&root).unwrap();
    }
}
