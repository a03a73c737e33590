//! Ids as LangGraph makes them: UUIDv6 checkpoint ids (time-ordered, compared as text) and
//! random UUIDv4 thread and message ids.

use std::time::Duration;

use uuid::{Builder, Timestamp, Uuid};

use super::random;
use crate::{Error, Result};

/// Returns a UUIDv6 checkpoint id for `now` (time since the Unix epoch) that sorts, as text,
/// after `after`, the thread's latest id; its clock sequence is `step`, as LangGraph's
/// `uuid6(clock_seq=step)` makes them.
///
/// When `after` is a UUIDv6 at or past `now` (our clock is behind, or another writer's clock runs
/// ahead), the new id takes `after`'s timestamp plus one tick, so the thread's order holds.
pub fn new_checkpoint_id(now: Duration, after: Option<&str>, step: i64) -> Result<String> {
    let (mut ticks, _) = Timestamp::from_unix_time(now.as_secs(), now.subsec_nanos(), 0, 0).to_gregorian();
    if let Some(previous) = after.and_then(uuid6_timestamp)
        && previous >= ticks
    {
        ticks = previous + 1;
    }
    let node = random::random_u64()? & 0xFFFF_FFFF_FFFF;
    let id = uuid6(ticks, step as u16, node);
    match after {
        Some(previous) if id.as_str() <= previous => Err(Error::Invalid(format!(
            "the latest checkpoint id {previous:?} is not a UUIDv6 this thread can follow; \
             new checkpoint ids must sort after it"
        ))),
        _ => Ok(id),
    }
}

/// Returns the 60-bit timestamp (100 ns ticks since 1582-10-15) of a UUIDv6 string; `None` if it
/// is not one.
pub fn uuid6_timestamp(id: &str) -> Option<u64> {
    // The hyphenated form only: ids are compared as text, so other spellings of a UUID do not sort.
    if id.len() != 36 {
        return None;
    }
    let uuid = Uuid::try_parse(id).ok()?;
    if uuid.get_version_num() != 6 {
        return None;
    }
    uuid.get_timestamp().map(|t| t.to_gregorian().0)
}

/// Returns a random (version 4) UUID string, used for thread and message ids.
pub fn random_uuid() -> String {
    Uuid::new_v4().to_string()
}

/// Formats a UUIDv6 from its timestamp, 14-bit clock sequence and 48-bit node.
fn uuid6(ticks: u64, clock_seq: u16, node: u64) -> String {
    let node: [u8; 6] = node.to_be_bytes()[2..].try_into().expect("6 of 8 bytes");
    Builder::from_sorted_gregorian_timestamp(ticks, clock_seq & 0x3FFF, &node).into_uuid().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_ids_are_uuid6_and_sort_after_the_previous_one() {
        // The id from LangGraph's own docs: 2024-07-31, version 6, clock_seq 1.
        let python = "1ef4f797-8335-6428-8001-8a1503f9b875";
        let ts = uuid6_timestamp(python).unwrap();
        assert_eq!(uuid6(ts, 1, 0x8a1503f9b875), python);

        let now = Duration::from_secs(1_700_000_000);
        let first = new_checkpoint_id(now, None, 1).unwrap();
        assert_eq!(&first[14..15], "6");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(uuid6_timestamp(&first), Some(1_700_000_000 * 10_000_000 + 0x01B2_1DD2_1381_4000));
        // A later Python id (clock ahead of ours) still gets a successor.
        let ahead = uuid6(uuid6_timestamp(&first).unwrap() + 10_000_000, 0x3FFE, 0xFFFF_FFFF_FFFF);
        let next = new_checkpoint_id(now, Some(&ahead), 2).unwrap();
        assert!(next > ahead, "{next} must sort after {ahead}");
        assert_eq!(uuid6_timestamp(&next), Some(uuid6_timestamp(&ahead).unwrap() + 1));
        assert_eq!(u16::from_str_radix(&next[19..23], 16).unwrap() & 0x3FFF, 2, "the clock sequence is the step");
        assert!(new_checkpoint_id(now, Some("zzzzzzzz"), 2).is_err());
    }

    #[test]
    fn only_uuid6_strings_have_a_checkpoint_timestamp() {
        assert_eq!(uuid6_timestamp(&random_uuid()), None, "a v4 id");
        assert_eq!(uuid6_timestamp("1ef4f797-8335-1428-8001-8a1503f9b875"), None, "a v1 id");
        assert_eq!(uuid6_timestamp("not a uuid"), None);
        assert_eq!(uuid6_timestamp("1ef4f7978335642880018a1503f9b875"), None, "not hyphenated");
    }

    #[test]
    fn random_uuids_are_version_4() {
        let a = random_uuid();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, random_uuid());
    }
}
