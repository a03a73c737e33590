//! Channel versions, in the form the thread already uses.
//!
//! Python's `PostgresSaver.get_next_version` writes strings, `"{n:032}.{random:016}"`, e.g.
//! `00000000000000000000000000000006.0.10399814216549486`; LangGraph.js's `PostgresSaver` writes
//! numbers, 1, 2, 3. Each library compares a thread's versions with one another, and neither
//! orders a number against a string (JavaScript then compares them as text and skips the graph's
//! first node, losing the turn's input; Python raises), so a thread keeps the form it started with.

use serde_json::{Map, Value};

use super::random;
use crate::Result;

/// Returns the version after `current` as `PostgresSaver.get_next_version` formats it:
/// `f"{n:032}.{random.random():016}"`.
pub fn next_channel_version(current: Option<u64>) -> Result<String> {
    let n = current.unwrap_or(0) + 1;
    Ok(format!("{n:032}.{}", python_float_016(random_fraction()?)))
}

/// How a thread spells its channel versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionForm {
    /// `"{n:032}.{random:016}"`: Python's `PostgresSaver`, and the app's on a thread it starts.
    PythonString,
    /// `n`: LangGraph.js's `PostgresSaver`.
    Number,
}

impl VersionForm {
    /// Returns the form of a checkpoint's `channel_versions`: numbers when every version is a
    /// number (a thread LangGraph.js started), else Python's strings (also for a new thread).
    pub fn of(channel_versions: &Map<String, Value>) -> VersionForm {
        if !channel_versions.is_empty() && channel_versions.values().all(Value::is_number) {
            VersionForm::Number
        } else {
            VersionForm::PythonString
        }
    }

    /// Returns the version after `highest` in this form.
    pub fn next(self, highest: Option<u64>) -> Result<Value> {
        match self {
            VersionForm::PythonString => next_channel_version(highest).map(Value::String),
            VersionForm::Number => Ok(Value::from(highest.unwrap_or(0) + 1)),
        }
    }
}

/// Returns a version as `checkpoint_blobs.version` holds it: a string as it is, a number in
/// decimal (what both libraries' `SELECT ... jsonb_each_text(channel_versions)` join on).
pub fn blob_version(version: &Value) -> String {
    match version {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Returns the integer part of a channel version (`"000…0006.0.1039…"` → 6; ints as they are).
pub fn version_number(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.split('.').next()?.parse().ok(),
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        _ => None,
    }
}

/// Formats a float in `[1e-4, 1)` as Python's `f"{x:016}"`: shortest round-trip digits, padded.
fn python_float_016(x: f64) -> String {
    format!("{:0>16}", format!("{x}"))
}

/// Returns a random float in `[1e-4, 1)`, where Python and Rust print floats the same way
/// (Python switches to exponent notation below 1e-4).
fn random_fraction() -> Result<f64> {
    loop {
        let x = (random::random_u64()? >> 11) as f64 / (1u64 << 53) as f64;
        if x >= 1e-4 {
            return Ok(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn channel_versions_look_like_pythons() {
        let v = next_channel_version(Some(5)).unwrap();
        let (n, frac) = v.split_at(32);
        assert_eq!(n, "00000000000000000000000000000006");
        assert!(frac.starts_with('.'));
        let frac: f64 = frac[1..].parse().unwrap();
        assert!((1e-4..1.0).contains(&frac));
        assert_eq!(python_float_016(0.25), "0000000000000.25");
        assert_eq!(python_float_016(0.10399814216549486), "0.10399814216549486");
        assert_eq!(version_number(&json!("00000000000000000000000000000006.0.10399814216549486")), Some(6));
        assert_eq!(version_number(&json!(3)), Some(3));
        assert_eq!(next_channel_version(None).unwrap()[..32], format!("{:032}", 1));
    }

    #[test]
    fn a_thread_keeps_its_version_form() {
        let js = json!({"messages": 5, "__start__": 2, "branch:to:agent": 4});
        let python = json!({"messages": "00000000000000000000000000000003.0.5", "__start__": 2});
        assert_eq!(VersionForm::of(js.as_object().unwrap()), VersionForm::Number);
        assert_eq!(VersionForm::of(python.as_object().unwrap()), VersionForm::PythonString);
        assert_eq!(VersionForm::of(&Map::new()), VersionForm::PythonString, "a new thread gets Python's form");
        assert_eq!(VersionForm::Number.next(Some(5)).unwrap(), json!(6));
        assert_eq!(VersionForm::Number.next(None).unwrap(), json!(1));
        let next = VersionForm::PythonString.next(Some(5)).unwrap();
        assert_eq!(&next.as_str().unwrap()[..32], "00000000000000000000000000000006");
        assert_eq!(blob_version(&json!(6)), "6");
        assert_eq!(blob_version(&next), next.as_str().unwrap());
    }
}
