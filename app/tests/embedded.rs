//! The migration set compiled into `sdm`: the workspace's `migrations/` folder as it is on disk,
//! validated, with its lock file, whatever migrations it holds.

use std::path::Path;

use app::migrations::{MigrationSet, MODULES};

#[test]
fn embedded_set_loads_with_unique_sorted_versions() {
    let set = app::migrations::embedded().unwrap_or_else(|e| panic!("{e}"));
    assert!(!set.files.is_empty());
    let versions: Vec<i32> = set.files.iter().map(|f| f.version).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    for file in &set.files {
        assert!(file.path.starts_with("migrations"), "{}", file.path.display());
        assert!(file.module.as_deref().is_some_and(|m| MODULES.contains(&m)), "{}", file.path.display());
    }
    // The compiled-in copy is the folder on disk (the build reruns when it changes).
    let on_disk = MigrationSet::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")).unwrap();
    assert_eq!(set.content_hash(), on_disk.content_hash());
}

#[test]
fn the_embedded_set_carries_its_lock_file() {
    let set = app::migrations::embedded().unwrap();
    let lock = set.lock.as_ref().expect("migrations/migrations.lock.json is committed");
    assert_eq!(lock.path, Path::new("migrations/migrations.lock.json"));
    assert!(lock.mismatches(&set.files).is_empty(), "{:?}", lock.mismatches(&set.files));
    assert_eq!(
        set.added_since_last_squash().len(),
        set.files.len() - set.last_squash().map_or(0, |r| r.squashed.len())
    );
}

#[test]
fn the_platform_takes_migrations_only_in_its_own_modules() {
    let dir = tempfile::tempdir().unwrap();
    for (rel, sql) in [("users/V1__a.sql", "SELECT 1;"), ("billing/V2__b.sql", "SELECT 1;")] {
        std::fs::create_dir_all(dir.path().join(rel).parent().unwrap()).unwrap();
        std::fs::write(dir.path().join(rel), sql).unwrap();
    }
    let set = MigrationSet::from_dir(dir.path()).expect("the engine takes any module");
    let error = app::migrations::check_modules(&set).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "{}: V2__b is not in a module of the platform",
            dir.path().join("billing").display()
        )),
        "{error}"
    );
    assert!(error.contains(&MODULES.join(", ")), "{error}");
}
