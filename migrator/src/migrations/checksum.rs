//! refinery's migration checksum: SipHash-1-3 with zero keys over the name, the version and the SQL.
//!
//! The runner records it in the history table and compares it on every run, so it must be
//! exactly refinery's: a database either runner migrated is then accepted by the other.

use std::hash::{Hash, Hasher};

/// Returns refinery's checksum for the migration `V{version}__{name}` with `sql`, computed
/// without refinery, so that the tools build without it (the test below holds it equal to
/// refinery's own, and `sdm` compares it with refinery's embedded list on every run).
pub(super) fn checksum(version: i32, name: &str, sql: &str) -> u64 {
    sip13(name, version, sql)
}

/// Computes refinery's algorithm without refinery.
fn sip13(name: &str, version: i32, sql: &str) -> u64 {
    let mut hasher = siphasher::sip::SipHasher13::new();
    name.hash(&mut hasher);
    version.hash(&mut hasher);
    sql.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_refinery_and_an_independent_siphash13() {
        let sql = "CREATE TABLE users_account (id bigint PRIMARY KEY);\n-- é, ünïcode\n";
        let ours = checksum(7, "users_initial", sql);
        assert_eq!(ours, refinery::Migration::unapplied("V7__users_initial", sql).unwrap().checksum());
        // std's DefaultHasher is SipHash-1-3 with zero keys too (refinery used it before 0.8.12).
        #[allow(deprecated)]
        let mut std_hasher = std::collections::hash_map::DefaultHasher::new();
        "users_initial".hash(&mut std_hasher);
        7i32.hash(&mut std_hasher);
        sql.hash(&mut std_hasher);
        assert_eq!(ours, std_hasher.finish());
        // The checksum depends on every part.
        assert_ne!(ours, checksum(8, "users_initial", sql));
        assert_ne!(ours, checksum(7, "users_initial2", sql));
        assert_ne!(ours, checksum(7, "users_initial", "SELECT 1;"));
    }
}
