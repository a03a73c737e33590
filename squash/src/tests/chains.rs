//! Whole chains: a long synthetic one, the workspace's own, and a squashed folder,
//! which squashes into itself (a fixed point) and which `--check` and `--dry-run` leave alone.

use std::collections::BTreeMap;
use std::path::PathBuf;

use migrator::migrations::MigrationSet;

use super::{assert_equivalent, paths, server, small_chain, snapshot, Tree};
use crate::{squash_dir, synthetic, FileKind, Options, Outcome};

/// Long enough for every kind of step the synthetic chain writes to come 15 times over; the
/// chains of 100, 300 and 1000 migrations, and how squash time grows with them, are `cargo xtask
/// bench`'s (a test asserts nothing about time).
const LONG_CHAIN: usize = 120;

#[test]
fn squashes_a_long_chain() {
    let tree = Tree::new(&[]);
    synthetic::write_chain(&tree.dir(), LONG_CHAIN).unwrap();
    let report = tree.squash();
    assert_eq!(report.before.len(), LONG_CHAIN);
    let initials: Vec<_> = report.after.iter().filter(|f| f.kind == FileKind::Initial).collect();
    assert_eq!(initials.len(), 5, "{}", report.summary());
    assert_eq!(
        report.module_order,
        ["users", "evidence", "journeys", "llmchat", "memory"].map(|m| Some(m.to_string()))
    );
    assert!(report.after.iter().any(|f| f.kind == FileKind::Data), "the chain inserts rows");
    assert_eq!(tree.check().outcome, Outcome::Unchanged);
}

#[test]
fn a_squashed_folder_is_a_fixed_point_and_check_tells() {
    let tree = Tree::new(&[]);
    small_chain(&tree);
    let original = tree.snapshot();
    let check = squash_dir(server(), &tree.dir(), &Options { check: true, ..tree.options() }).unwrap();
    assert_eq!(check.outcome, Outcome::WouldChange);
    assert_eq!(tree.snapshot(), original, "--check writes nothing");

    let dry = squash_dir(server(), &tree.dir(), &Options { dry_run: true, ..tree.options() }).unwrap();
    assert_eq!(dry.outcome, Outcome::DryRun);
    assert_eq!(tree.snapshot(), original, "--dry-run writes nothing");
    let dry_dir = dry.dry_run_dir.clone().unwrap();
    assert!(dry.after.iter().all(|f| dry_dir.join(&f.path).exists()), "the dry run's folder holds its files");

    let report = tree.squash();
    assert_eq!(
        paths(&report),
        [
            "users/users_initial.sql",
            "evidence/evidence_initial.sql",
            "evidence/evidence_setup_store.sql",
            "users/users_data.sql"
        ]
    );
    assert_eq!(snapshot(&dry_dir), tree.snapshot(), "the dry run showed what was then written");
    let kept = original.keys().find(|p| p.ends_with("V4__evidence_setup_store.sql")).unwrap();
    assert_eq!(
        tree.read_named("evidence/evidence_setup_store.sql"),
        String::from_utf8(original[kept].clone()).unwrap()
    );
    assert_eq!(tree.read("README.md"), "Migrations of the test chain.\n");
    let backup = report.backup.clone().unwrap();
    assert_eq!(snapshot(&backup), original, "the backup holds the old files");

    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["outcome"], "written");
    assert_eq!(json["after"][2]["kind"], "kept");
    assert_eq!(json["after"][2]["was"], kept.display().to_string());
    assert!(json["new_set_millis"].as_f64().unwrap() > 0.0);

    let squashed = tree.snapshot();
    let again = tree.squash();
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert!(again.backup.is_none());
    assert_eq!(tree.snapshot(), squashed);
    let leftovers: Vec<String> = std::fs::read_dir(tree.dir().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".squash-new") || name.contains(".squash-old"))
        .collect();
    assert!(leftovers.is_empty(), "a run that changed nothing left {leftovers:?} beside the folder");
    let check = squash_dir(server(), &tree.dir(), &Options { check: true, ..tree.options() }).unwrap();
    assert_eq!(check.outcome, Outcome::Unchanged);
}

/// Whatever the workspace's migrations are (a pre-launch chain, a squashed set, migrations added
/// since), a squash of them proves, keeps every `-- squash: keep` migration, and a second squash
/// changes nothing.
#[test]
fn the_workspace_migrations_squash_and_prove() {
    let workspace = super::project_root().join("migrations");
    let tree = Tree::new(&[]);
    for (rel, bytes) in snapshot(&workspace) {
        tree.write(rel.to_str().unwrap(), std::str::from_utf8(&bytes).unwrap());
    }
    let before = MigrationSet::from_dir(&workspace).unwrap();
    let report = tree.squash();
    let after = MigrationSet::from_dir(&tree.dir()).unwrap();
    let kept = |set: &MigrationSet| -> Vec<String> {
        set.files
            .iter()
            .filter(|f| f.keep)
            .map(|f| format!("{}__{}", f.module.as_deref().unwrap_or(""), f.name))
            .collect()
    };
    assert_eq!(kept(&after), kept(&before), "every kept migration survives, in order: {}", report.summary());
    assert!(after.files.len() <= before.files.len(), "{}", report.summary());
    assert_equivalent(&workspace, &tree.dir());
    assert_eq!(tree.check().outcome, Outcome::Unchanged);
}

/// The new set is numbered after the chain's last version, so no new file takes an old file's
/// path: a review of the squash shows files removed and added (a kept migration renamed),
/// never a file edited into another.
#[test]
fn the_squashed_set_is_numbered_after_the_chain() {
    let (old, new) = super::small_chain_before_and_after();
    let versions = |folder: &BTreeMap<PathBuf, Vec<u8>>| -> Vec<i32> {
        let mut versions: Vec<i32> = folder
            .keys()
            .filter_map(|p| p.file_name()?.to_str()?.strip_prefix('V')?.split_once("__")?.0.parse().ok())
            .collect();
        versions.sort();
        versions
    };
    let (old_versions, new_versions) = (versions(&old), versions(&new));
    let last_old = *old_versions.last().unwrap();
    assert_eq!(
        new_versions,
        (last_old + 1..=last_old + new_versions.len() as i32).collect::<Vec<_>>(),
        "the new set continues after V{last_old}, without gaps"
    );
    let migration = |p: &&PathBuf| p.extension().is_some_and(|e| e == "sql");
    let shared: Vec<_> = old.keys().filter(migration).filter(|p| new.contains_key(*p)).collect();
    assert!(shared.is_empty(), "new files take old files' paths: {shared:?}");
}
