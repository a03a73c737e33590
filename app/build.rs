//! Embeds the migrations: rebuilds the crate when a migration file is added, changed or removed,
//! and writes a manifest of every folder and file under `../migrations` for `MigrationSet::embedded`.
//! It also sets `cfg(sdm_skip_python)` under `SDM_SKIP_PYTHON=1` and `cfg(sdm_skip_js)` under
//! `SDM_SKIP_JS=1`, so the LangGraph interop tests are reported as ignored rather than passed.
//!
//! refinery's `embed_migrations!` only sees files it considers well named and is not rerun when a
//! file is added; the manifest lists everything so the library can reject what refinery skipped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    skip_cfg("SDM_SKIP_PYTHON", "sdm_skip_python");
    skip_cfg("SDM_SKIP_JS", "sdm_skip_js");
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../migrations");
    println!("cargo:rerun-if-changed={}", root.display());

    let mut entries = Vec::new();
    if root.is_dir() {
        walk(&root, "", &mut entries);
    }

    let mut out = String::from(
        "/// Every folder (`None`) and file (its bytes) under the workspace's `migrations/`, by relative path.\n\
         pub const ENTRIES: &[(&str, Option<&[u8]>)] = &[\n",
    );
    for (rel, path, is_dir) in &entries {
        println!("cargo:rerun-if-changed={}", path.display());
        if *is_dir {
            writeln!(out, "    ({rel:?}, None),").unwrap();
        } else {
            match path.canonicalize().ok().and_then(|p| p.to_str().map(str::to_string)) {
                Some(abs) => writeln!(out, "    ({rel:?}, Some(include_bytes!({abs:?}))),").unwrap(),
                // A path that is not UTF-8 cannot be included; its name is rejected at run time anyway.
                None => writeln!(out, "    ({rel:?}, Some(&[])),").unwrap(),
            }
        }
    }
    out.push_str("];\n");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = out_dir.join("migrations_manifest.rs");
    // Rewriting an identical file would still trigger a recompile.
    if std::fs::read_to_string(&target).ok().as_deref() != Some(out.as_str()) {
        std::fs::write(&target, out).expect("write the migrations manifest");
    }
}

/// Collects (relative path, path, is folder) for everything under `dir`, sorted by name.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf, bool)>) {
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).path())
        .collect();
    children.sort();
    for path in children {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let is_dir = path.is_dir();
        out.push((rel.clone(), path.clone(), is_dir));
        if is_dir {
            walk(&path, &rel, out);
        }
    }
}

/// Sets `cfg(<cfg>)` when `<var>=1`: tests that need the Python venv (`sdm_skip_python`) or
/// LangGraph.js in `js/node_modules` (`sdm_skip_js`) carry `#[cfg_attr(<cfg>, ignore = ...)]`. A
/// missing venv or `node_modules` is not a reason to skip: those tests then run and fail with the
/// command that installs it.
fn skip_cfg(var: &str, cfg: &str) {
    println!("cargo:rustc-check-cfg=cfg({cfg})");
    println!("cargo:rerun-if-env-changed={var}");
    if std::env::var(var).as_deref() == Ok("1") {
        println!("cargo:rustc-cfg={cfg}");
    }
}
