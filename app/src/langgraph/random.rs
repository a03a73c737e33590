//! Random bits from the system's source, for checkpoint ids and channel versions.

use crate::{Error, Result};

/// Returns 64 random bits.
pub(super) fn random_u64() -> Result<u64> {
    let mut bytes = [0u8; 8];
    fill(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

/// Fills `buf` with random bytes.
pub(super) fn fill(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf)
        .map_err(|e| Error::Io { path: "the system's random source".into(), source: std::io::Error::from(e) })
}
