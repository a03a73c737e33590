//! Squashes real public migration chains that no one here wrote, imported with the import
//! engine (`cargo xtask import`) and numbered after a prelude. Each needs its repository's git directory, which CI does not have:
//! set `SDM_CHAINS_DIR` to a folder holding `<owner>+<name>/repo` (a git directory, as a
//! mirror fetch leaves it) and run `cargo test -p squash real_chains -- --ignored --nocapture`.
//! Each test prints a row: migrations, outcome, squash time against one in-connection replay,
//! and a fresh database from the squashed set against a `pg_restore` of the same schema.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use migrator::migrations::MigrationSet;

use super::server;
use crate::{squash_dir, synthetic, Options, Outcome};
use import::Tool as Format;

/// A public chain: where it lives and how to read it.
struct Chain {
    /// `<owner>+<name>` under `SDM_CHAINS_DIR`.
    repo: &'static str,
    /// The migrations folder inside the repository.
    path: &'static str,
    format: Format,
    /// Text replaced in every file (templated names).
    replacements: &'static [(&'static str, &'static str)],
    /// A first migration the tool's users run by hand before the chain.
    prelude: Option<&'static str>,
    /// Where the chain is cut, when a later migration needs what this machine lacks: the
    /// number of migrations taken.
    take: Option<usize>,
}

/// Converts `chain` into a flat folder under a new temp folder and returns that folder.
fn checkout(chain: &Chain) -> (PathBuf, usize) {
    let root = std::env::var_os("SDM_CHAINS_DIR")
        .map(PathBuf::from)
        .expect("set SDM_CHAINS_DIR to the folder holding <owner>+<name>/repo git directories");
    let git_dir = root.join(chain.repo).join("repo");
    assert!(git_dir.is_dir(), "{} is not fetched: {} is missing", chain.repo, git_dir.display());
    let work = std::env::temp_dir().join(format!("sdm-real-{}-{}", chain.repo, std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("source")).unwrap();
    let mut archive = Command::new("git")
        .arg("--git-dir")
        .arg(&git_dir)
        .args(["archive", "HEAD", chain.path])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let tar = Command::new("tar")
        .args(["-x", "-C"])
        .arg(work.join("source"))
        .stdin(archive.stdout.take().unwrap())
        .status()
        .unwrap();
    assert!(archive.wait().unwrap().success() && tar.success(), "could not read {} from {}", chain.path, chain.repo);
    let flat = work.join("migrations");
    let source = work.join("source").join(chain.path);
    for (from, to) in chain.replacements {
        replace_in(&source, from, to);
    }
    let converted = work.join("converted");
    let options =
        import::Options { from: Some(chain.format), modules: Vec::new(), into: converted.clone(), force: false };
    import::import(&source, &options).unwrap_or_else(|e| panic!("import {}: {e:#}", chain.repo));
    // The squash replays the files only: the record of the tool's history is not needed here.
    std::fs::remove_file(converted.join(migrator::migrations::IMPORT_FILE)).unwrap();
    let converted = converted.join("main");
    let mut n = std::fs::read_dir(&converted).unwrap().count();
    if let Some(take) = chain.take {
        for entry in std::fs::read_dir(&converted).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let version: usize = name[1..].split_once("__").unwrap().0.parse().unwrap();
            if version > take {
                std::fs::remove_file(path).unwrap();
            }
        }
        n = n.min(take);
    }
    std::fs::create_dir_all(&flat).unwrap();
    let offset = usize::from(chain.prelude.is_some());
    if let Some(prelude) = chain.prelude {
        std::fs::write(flat.join("V1__prelude.sql"), prelude).unwrap();
    }
    for entry in std::fs::read_dir(&converted).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (version, rest) = name[1..].split_once("__").unwrap();
        let version: usize = version.parse().unwrap();
        std::fs::rename(&path, flat.join(format!("V{}__{rest}", version + offset))).unwrap();
    }
    (work, n + offset)
}

/// Replaces `from` with `to` in every file under `dir` (templated names in a chain's files).
fn replace_in(dir: &std::path::Path, from: &str, to: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            replace_in(&path, from, to);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            std::fs::write(&path, text.replace(from, to)).unwrap();
        }
    }
}

/// Squashes `chain` (a dry run: built and proven, nothing written) and prints its row; returns
/// the outcome or the error.
fn squash(chain: &Chain) -> Result<Outcome, String> {
    let (work, migrations) = checkout(chain);
    let dir = work.join("migrations");
    let set = MigrationSet::from_dir(&dir).unwrap();
    let replay = {
        let db = server().scratch_database("real_replay").unwrap();
        let started = Instant::now();
        migrator::migrate::migrate(&mut db.connect(), &set).map_err(|e| format!("the chain itself fails: {e}"))?;
        started.elapsed()
    };
    let opts = Options {
        dry_run: true,
        check: false,
        allow_dirty: true,
        target_dir: work.join("target"),
        after_step: None,
        quiet: false,
    };
    let started = Instant::now();
    let result = squash_dir(server(), &dir, &opts);
    let squash = started.elapsed();
    let row = match &result {
        Ok(report) => {
            let squashed = report.dry_run_dir.clone().unwrap();
            let sh = xshell::Shell::new().unwrap();
            let (fresh, restore) = synthetic::fresh_and_restore(&sh, server(), &squashed).unwrap();
            format!(
                "{:<28} {migrations:>5}  squashed+proved ({} files)  squash {:.2} s / replay {:.2} s = {:.1}x  \
                 fresh {:.0} ms / pg_restore {:.0} ms = {:.2}x",
                chain.repo,
                report.after.len(),
                squash.as_secs_f64(),
                replay.as_secs_f64(),
                squash.as_secs_f64() / replay.as_secs_f64(),
                fresh.as_secs_f64() * 1000.0,
                restore.as_secs_f64() * 1000.0,
                fresh.as_secs_f64() / restore.as_secs_f64()
            )
        }
        Err(e) => format!("{:<28} {migrations:>5}  refused: {e:#}", chain.repo),
    };
    println!("{row}");
    let _ = std::fs::remove_dir_all(&work);
    result.map(|r| r.outcome).map_err(|e| format!("{e:#}"))
}

/// Squashes `chain` and fails unless it squashed and proved.
fn assert_squashes(chain: &Chain) {
    match squash(chain) {
        Ok(outcome) => assert_eq!(outcome, Outcome::DryRun),
        Err(e) => panic!("{} did not squash: {e}", chain.repo),
    }
}

#[test]
#[ignore = "needs a fetched chain: SDM_CHAINS_DIR/LemmyNet+lemmy/repo"]
fn lemmy() {
    assert_squashes(&Chain {
        repo: "LemmyNet+lemmy",
        path: "migrations",
        format: Format::Diesel,
        replacements: &[],
        prelude: None,
        // Migration 248 uses a subquery without an alias, which only Postgres 16 reads.
        take: Some(247),
    });
}

#[test]
#[ignore = "needs a fetched chain: SDM_CHAINS_DIR/rust-lang+crates.io/repo"]
fn crates_io() {
    assert_squashes(&Chain {
        repo: "rust-lang+crates.io",
        path: "migrations",
        format: Format::Diesel,
        replacements: &[],
        prelude: None,
        take: None,
    });
}

#[test]
#[ignore = "needs a fetched chain: SDM_CHAINS_DIR/documenso+documenso/repo"]
fn documenso() {
    assert_squashes(&Chain {
        repo: "documenso+documenso",
        path: "packages/prisma/migrations",
        format: Format::Prisma,
        replacements: &[],
        prelude: None,
        take: None,
    });
}

#[test]
#[ignore = "needs a fetched chain: SDM_CHAINS_DIR/formbricks+formbricks/repo"]
fn formbricks() {
    assert_squashes(&Chain {
        repo: "formbricks+formbricks",
        path: "packages/database/migration",
        format: Format::Prisma,
        replacements: &[],
        prelude: None,
        // Migration 98 makes the pgvector extension, which this machine's Postgres lacks.
        take: Some(97),
    });
}

#[test]
#[ignore = "needs a fetched chain: SDM_CHAINS_DIR/triggerdotdev+trigger.dev/repo"]
fn trigger_dev() {
    assert_squashes(&Chain {
        repo: "triggerdotdev+trigger.dev",
        path: "internal-packages/database/prisma/migrations",
        format: Format::Prisma,
        replacements: &[],
        prelude: None,
        take: None,
    });
}

#[test]
#[ignore = "needs a fetched chain: SDM_CHAINS_DIR/supabase+auth/repo"]
fn supabase_auth() {
    assert_squashes(&Chain {
        repo: "supabase+auth",
        path: "migrations",
        format: Format::GolangMigrate,
        replacements: &[("{{ index .Options \"Namespace\" }}", "auth"), ("{{index .Options \"Namespace\" }}", "auth")],
        prelude: Some("CREATE SCHEMA IF NOT EXISTS auth;\n"),
        take: None,
    });
}

#[test]
#[ignore = "needs a fetched chain: SDM_CHAINS_DIR/dani-garcia+vaultwarden/repo"]
fn vaultwarden() {
    assert_squashes(&Chain {
        repo: "dani-garcia+vaultwarden",
        path: "migrations/postgresql",
        format: Format::Diesel,
        replacements: &[],
        prelude: None,
        take: None,
    });
}

#[test]
#[ignore = "needs a fetched chain: SDM_CHAINS_DIR/goharbor+harbor/repo"]
fn harbor() {
    assert_squashes(&Chain {
        repo: "goharbor+harbor",
        path: "make/migrations/postgresql",
        format: Format::GolangMigrate,
        replacements: &[],
        // golang-migrate's own table, which later migrations read.
        prelude: Some("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);\n"),
        take: None,
    });
}
