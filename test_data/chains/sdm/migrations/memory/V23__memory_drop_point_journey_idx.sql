-- Drops memory_conversation_point_journey_idx: the (journey_id, point_id) unique index serves those lookups.
DROP INDEX memory_conversation_point_journey_idx;
