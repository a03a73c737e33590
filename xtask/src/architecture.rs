//! The crate invariants ARCHITECTURE.md states, checked from `cargo metadata`: which workspace
//! crate may depend on which, so the engines never import the product and nothing links xtask.

use std::collections::{BTreeMap, BTreeSet};

use xshell::{cmd, Shell};

/// For each workspace crate, the workspace crates it may depend on, as a normal (linked)
/// dependency and as a dev-dependency (tests only). A crate missing here fails the check: say
/// where it stands before adding it.
const ALLOWED: &[(&str, &[&str], &[&str])] = &[
    // The migration engine knows no product and no tool; its tests use devdb's Postgres.
    ("migrator", &[], &["devdb"]),
    // The Postgres for tests and tools: the engine (to migrate templates), never the product.
    ("devdb", &["migrator"], &[]),
    // The squash engine: the migration engine and a Postgres to replay into; never the product.
    ("squash", &["migrator", "devdb"], &["import"]),
    // The import engine: the migration engine only (its splitter, checksum and record type).
    ("import", &["migrator"], &[]),
    // The product: the migration engine; devdb only for its tests.
    ("app", &["migrator"], &["devdb"]),
    // The thin commands: everything, and nothing depends on them.
    ("xtask", &["app", "devdb", "import", "migrator", "squash"], &[]),
];

/// Returns, for each workspace crate, its workspace dependencies: (normal, dev).
fn workspace_dependencies() -> Edges {
    let sh = Shell::new().unwrap();
    sh.change_dir(crate::project_root());
    let text = cmd!(sh, "cargo metadata --format-version 1 --no-deps --offline").quiet().read().unwrap();
    let metadata: serde_json::Value = serde_json::from_str(&text).unwrap();
    let packages = metadata["packages"].as_array().expect("cargo metadata lists packages");
    let members: BTreeSet<String> = packages.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    let mut out = BTreeMap::new();
    for package in packages {
        let (mut normal, mut dev) = (BTreeSet::new(), BTreeSet::new());
        for dep in package["dependencies"].as_array().unwrap() {
            let name = dep["name"].as_str().unwrap().to_string();
            if !members.contains(&name) {
                continue;
            }
            match dep["kind"].as_str() {
                Some("dev") => dev.insert(name),
                _ => normal.insert(name),
            };
        }
        out.insert(package["name"].as_str().unwrap().to_string(), (normal, dev));
    }
    out
}

/// Workspace dependencies by crate: (normal, dev).
type Edges = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

/// Returns one line per dependency [`ALLOWED`] does not allow, or per crate it does not list.
fn violations(actual: &Edges) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, (normal, dev)) in actual {
        let Some((_, may, may_in_tests)) = ALLOWED.iter().find(|(n, _, _)| n == name) else {
            failures.push(format!("crate {name} is not in xtask/src/architecture.rs: add it with what it may use"));
            continue;
        };
        for dep in normal.iter().filter(|d| !may.contains(&d.as_str())) {
            failures.push(format!("{name} depends on {dep}, which ARCHITECTURE.md does not allow"));
        }
        for dep in dev.iter().filter(|d| !may.contains(&d.as_str()) && !may_in_tests.contains(&d.as_str())) {
            failures.push(format!("{name}'s tests depend on {dep}, which ARCHITECTURE.md does not allow"));
        }
    }
    failures
}

#[test]
fn each_crate_depends_only_on_the_crates_it_may() {
    let actual = workspace_dependencies();
    assert!(actual["app"].0.contains("migrator"), "the check reads real edges: {actual:?}");
    let failures = violations(&actual);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_forbidden_edge_and_an_unlisted_crate_are_named() {
    let mut forged = workspace_dependencies();
    forged.get_mut("devdb").unwrap().0.insert("app".to_string());
    forged.insert("helpers".to_string(), Default::default());
    assert_eq!(
        violations(&forged),
        [
            "devdb depends on app, which ARCHITECTURE.md does not allow",
            "crate helpers is not in xtask/src/architecture.rs: add it with what it may use",
        ]
    );
}
