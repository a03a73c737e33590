-- Partitions made LIKE their parent and attached, as Prisma chains do, with timestamp(3)
-- columns; and inheritance children that drop their parent's default.
CREATE TABLE event (
  id text NOT NULL,
  created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  kind text NOT NULL DEFAULT 'info',
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX event_kind_idx ON event (kind);
CREATE TABLE event_2024 (LIKE event INCLUDING INDEXES);
ALTER TABLE event ATTACH PARTITION event_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE event_2025 PARTITION OF event FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE note (id integer PRIMARY KEY, written_at timestamp(3) DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE note_draft () INHERITS (note);
ALTER TABLE note_draft ALTER COLUMN written_at DROP DEFAULT;
