//! Where the throwaway clusters live: in memory (`/dev/shm`) when the machine has room there,
//! else on disk as before.
//!
//! The tests make and drop hundreds of databases: each `CREATE DATABASE` writes some 300 files
//! and each `DROP DATABASE` removes them. On a tmpfs that costs 5-10 ms; on the ext4 disks
//! measured here it cost 90-100 ms, most of it the kernel looking for a free inode among the
//! recently deleted ones. So the tests' cluster (and the clusters of the majors tier and the
//! password tests) go to `/dev/shm` when it is a tmpfs with at least [`RAM_FREE`] free. The
//! workspace's own cluster (`cargo xtask sdm`, `squash`, `migrate`) stays under `target/`: its
//! data outlives a reboot.
//!
//! A cluster in memory is named after the workspace's `target/` folder and records that folder
//! in a file `workspace`; one whose workspace is gone and whose server is not running is removed
//! the next time a test cluster starts on the machine.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cluster::{cluster_dir_for, fnv};
use crate::majors;

/// The least free space `/dev/shm` must have to hold the test clusters: a run of the whole suite
/// keeps a few hundred MB there at its peak.
pub const RAM_FREE: u64 = 2 << 30;

/// The prefix of a test cluster's folder in memory.
const PREFIX: &str = "sdm-pg-test-";

/// The file in a cluster folder in memory that names the workspace `target/` folder it serves.
const WORKSPACE_FILE: &str = "workspace";

/// Returns `/dev/shm` when it is a tmpfs with [`RAM_FREE`] free, asked once per process.
pub fn ram_dir() -> Option<&'static Path> {
    static RAM: OnceLock<Option<PathBuf>> = OnceLock::new();
    RAM.get_or_init(|| {
        let dir = PathBuf::from("/dev/shm");
        (std::env::var_os("SDM_NO_RAM").is_none() && is_tmpfs_with_room(&dir, RAM_FREE)).then_some(dir)
    })
    .as_deref()
}

/// Returns the folder for a throwaway cluster or scratch files: [`ram_dir`], else the temp folder.
pub fn scratch_root() -> PathBuf {
    ram_dir().map_or_else(std::env::temp_dir, Path::to_path_buf)
}

/// Returns the folder of the tests' cluster (of `major`, when given): `$SDM_PG_DIR` for the
/// default major, else one in [`ram_dir`] named after this workspace, else the workspace's own
/// cluster under `target/`.
pub fn test_cluster_dir(major: Option<u32>) -> PathBuf {
    if let (None, Some(dir)) = (major, std::env::var_os("SDM_PG_DIR")) {
        return PathBuf::from(dir);
    }
    match ram_dir() {
        Some(ram) => ram.join(cluster_name(&majors::target_dir(), major)),
        None => cluster_dir_for(major),
    }
}

/// Returns the name of the test cluster (of `major`) of the workspace whose `target/` is `target`.
fn cluster_name(target: &Path, major: Option<u32>) -> String {
    let key = fnv(target.to_string_lossy().as_bytes());
    match major {
        Some(major) => format!("{PREFIX}{key:016x}-{major}"),
        None => format!("{PREFIX}{key:016x}"),
    }
}

/// Records in the cluster folder `root` (when it is in memory) which workspace it serves, and
/// removes the clusters in memory whose workspace is gone and whose server is not running.
pub(crate) fn claim(root: &Path) {
    let Some(ram) = ram_dir() else { return };
    if !root.starts_with(ram) {
        return;
    }
    let _ = std::fs::write(root.join(WORKSPACE_FILE), majors::target_dir().to_string_lossy().as_bytes());
    sweep(ram, root);
}

/// Removes the test clusters in `ram` but `keep` whose workspace is gone and whose server is not
/// running.
fn sweep(ram: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(ram) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_test_cluster = entry.file_name().to_string_lossy().starts_with(PREFIX);
        if !is_test_cluster || path == keep {
            continue;
        }
        let Ok(workspace) = std::fs::read_to_string(path.join(WORKSPACE_FILE)) else { continue };
        if !Path::new(&workspace).exists() && !server_running(&path.join("data")) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Whether the server of data folder `data` runs: its `postmaster.pid` names a live process.
fn server_running(data: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(data.join("postmaster.pid")) else { return false };
    text.lines().next().and_then(|pid| pid.trim().parse::<u32>().ok()).is_some_and(crate::scratch::process_exists)
}

/// Whether `dir` is on a tmpfs with at least `free` bytes available.
fn is_tmpfs_with_room(dir: &Path, free: u64) -> bool {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else { return false };
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a NUL-terminated string and `stat` a statfs the call fills in.
    if unsafe { libc::statfs(path.as_ptr(), &mut stat) } != 0 {
        return false;
    }
    stat.f_type as i64 == TMPFS_MAGIC && (stat.f_bavail as u64).saturating_mul(stat.f_bsize as u64) >= free
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_counts_as_memory_when_the_mount_table_says_tmpfs_and_it_has_room() {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
        for dir in ["/dev/shm", "/"] {
            let Some(fstype) = mounts
                .lines()
                .map(|l| l.split(' ').collect::<Vec<_>>())
                .find(|f| f[1] == dir)
                .map(|f| f[2].to_string())
            else {
                continue;
            };
            assert_eq!(is_tmpfs_with_room(Path::new(dir), 0), fstype == "tmpfs", "{dir} is {fstype}");
            assert!(!is_tmpfs_with_room(Path::new(dir), 1 << 62), "{dir} has not 4 EiB free");
        }
        assert!(!is_tmpfs_with_room(Path::new("/no/such/folder"), 0));
    }

    #[test]
    fn test_clusters_are_named_after_their_workspace_and_major() {
        let (one, other) = (Path::new("/a/target"), Path::new("/b/target"));
        assert_ne!(cluster_name(one, None), cluster_name(other, None));
        assert_eq!(cluster_name(one, Some(14)), format!("{}-14", cluster_name(one, None)));
        assert!(cluster_name(one, None).starts_with(PREFIX));
    }

    #[test]
    fn only_stopped_clusters_of_gone_workspaces_are_swept() {
        let ram = std::env::temp_dir().join(format!("sdm-ram-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&ram);
        let cluster = |name: &str, workspace: &Path, pid: Option<u32>| {
            let dir = ram.join(format!("{PREFIX}{name}"));
            std::fs::create_dir_all(dir.join("data")).unwrap();
            std::fs::write(dir.join(WORKSPACE_FILE), workspace.to_string_lossy().as_bytes()).unwrap();
            if let Some(pid) = pid {
                std::fs::write(dir.join("data/postmaster.pid"), format!("{pid}\n/data\n")).unwrap();
            }
            dir
        };
        let gone = Path::new("/no/such/workspace/target");
        let swept = cluster("gone", gone, None);
        let dead_server = cluster("dead", gone, Some(u32::MAX));
        let running = cluster("running", gone, Some(std::process::id()));
        let kept = cluster("kept", gone, None);
        let alive = cluster("alive", &std::env::temp_dir(), None);
        let other = ram.join("someone-else");
        std::fs::create_dir_all(&other).unwrap();
        sweep(&ram, &kept);
        assert!(!swept.exists() && !dead_server.exists());
        assert!(running.exists() && kept.exists() && alive.exists() && other.exists());
        std::fs::remove_dir_all(&ram).unwrap();
    }
}
