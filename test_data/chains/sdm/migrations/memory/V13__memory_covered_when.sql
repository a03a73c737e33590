-- Replaces keywords text[] with covered_when jsonb, the phrase list the journey fixtures carry.
ALTER TABLE memory_conversation_point RENAME COLUMN keywords TO covered_when;
-- The old '{}' default cannot be cast to jsonb; drop it for the type change and set the new one.
ALTER TABLE memory_conversation_point ALTER COLUMN covered_when DROP DEFAULT;
ALTER TABLE memory_conversation_point
    ALTER COLUMN covered_when TYPE jsonb USING to_jsonb(covered_when);
ALTER TABLE memory_conversation_point ALTER COLUMN covered_when SET DEFAULT '[]';

ALTER TABLE memory_conversation_point ALTER COLUMN point_id TYPE text;
ALTER TABLE memory_conversation_point ALTER COLUMN title TYPE text;
