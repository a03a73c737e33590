//! `initdb` once per set of binaries and options: every later data folder is a copy of the first
//! one made, as Postgres's own test suite does (its initdb template, since Postgres 16). initdb
//! takes about 0.35 s of CPU, a copy in memory about 0.03 s, and the tests make clusters of their
//! own (lifetime, a lost server, password clusters, Ctrl-C), several per run.
//!
//! The copy is kept in [`scratch_root`] under a name made of the binaries' folder, size and
//! modification time and the options, so an upgraded package or other options make a new one.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::binaries::{self, as_postgres, chown_to_postgres, server_command};
use crate::cluster::fnv;
use crate::ram::scratch_root;
use crate::{Error, Result};

/// Makes `data` (which must not exist; its folder must be the `postgres` user's to write when we
/// are root) a new data folder, as `initdb -D data ARGS` of `bin_dir` would.
pub(crate) fn initdb(bin_dir: &Path, data: &Path, args: &[&str]) -> Result<()> {
    let template = template(bin_dir, args)?;
    let mut copy = as_postgres("cp");
    copy.arg("-a").arg(&template).arg(data);
    binaries::run(copy, &format!("copy {} to {}", template.display(), data.display()), "").map(drop)
}

/// Returns the initdb template of `bin_dir` and `args`, made first when missing.
fn template(bin_dir: &Path, args: &[&str]) -> Result<PathBuf> {
    let mut key = format!("{}\0{args:?}", bin_dir.display());
    for tool in ["initdb", "postgres"] {
        let path = bin_dir.join(tool);
        let meta = fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        let modified = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
        key.push_str(&format!("\0{} {}", meta.len(), modified.as_nanos()));
    }
    let root = scratch_root().join(format!("sdm-initdb-{:016x}", fnv(key.as_bytes())));
    let data = root.join("data");
    if data.join("PG_VERSION").exists() {
        return Ok(data);
    }
    // Made beside it and renamed into place: a reader sees all of it or none. Two processes may
    // both make one; the second rename fails and its copy is dropped.
    let building = root.with_extension(std::process::id().to_string());
    let _ = fs::remove_dir_all(&building);
    fs::create_dir_all(&building).map_err(|e| Error::io(&building, e))?;
    chown_to_postgres(&building)?;
    let mut initdb = server_command(bin_dir, "initdb");
    initdb.arg("-D").arg(building.join("data")).args(args);
    if let Err(e) = binaries::run(initdb, &format!("initdb {}", building.display()), "") {
        let _ = fs::remove_dir_all(&building);
        return Err(e);
    }
    match fs::rename(&building, &root) {
        Ok(()) => Ok(data),
        Err(e) => {
            let _ = fs::remove_dir_all(&building);
            if data.join("PG_VERSION").exists() {
                Ok(data)
            } else {
                Err(Error::io(&root, e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_folders_made_with_the_same_binaries_and_options_are_copies_of_one_initdb() {
        let bin_dir = binaries::find_bin_dir().unwrap();
        let dir = scratch_root().join(format!("devdb-initdb-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        chown_to_postgres(&dir).unwrap();
        let args = ["-A", "trust", "-U", "postgres", "--no-sync"];
        for name in ["one", "two"] {
            initdb(&bin_dir, &dir.join(name), &args).unwrap_or_else(|e| panic!("{e}"));
        }
        let control = |name: &str| fs::read(dir.join(name).join("global/pg_control")).unwrap();
        assert_eq!(control("one"), control("two"), "both come from one initdb");
        assert_eq!(control("one"), fs::read(template(&bin_dir, &args).unwrap().join("global/pg_control")).unwrap());
        let other = template(&bin_dir, &["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]).unwrap();
        assert_ne!(fs::read(other.join("global/pg_control")).unwrap(), control("one"), "other options, other initdb");
        fs::remove_dir_all(&dir).unwrap();
    }
}
