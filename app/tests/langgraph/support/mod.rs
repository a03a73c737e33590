//! The harness the LangGraph interop tests share: Python's side, JavaScript's side, the app's
//! side, and what they compare.

pub mod checks;
pub mod js;
pub mod python;
pub mod schema;
pub mod sdm;
pub mod worker;

use std::path::{Path, PathBuf};

/// The journey every test onboards its users onto.
pub const JOURNEY: &str = "knee-osteoarthritis-treatment";

/// Returns the workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
