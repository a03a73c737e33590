//! Channel versions as `PostgresSaver.get_next_version` makes them:
//! `"{n:032}.{random:016}"`, e.g. `00000000000000000000000000000006.0.10399814216549486`.

use serde_json::Value;

use super::random;
use crate::Result;

/// Returns the version after `current` as `PostgresSaver.get_next_version` formats it:
/// `f"{n:032}.{random.random():016}"`.
pub fn next_channel_version(current: Option<u64>) -> Result<String> {
    let n = current.unwrap_or(0) + 1;
    Ok(format!("{n:032}.{}", python_float_016(random_fraction()?)))
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
}
