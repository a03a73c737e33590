-- Tracks a point as not_started, in_progress or covered instead of a covered flag; note becomes required.
ALTER TABLE memory_point_status ALTER COLUMN covered DROP DEFAULT;
ALTER TABLE memory_point_status ALTER COLUMN covered TYPE text
    USING CASE WHEN covered THEN 'covered' ELSE 'not_started' END;
ALTER TABLE memory_point_status RENAME COLUMN covered TO status;
ALTER TABLE memory_point_status ALTER COLUMN status SET DEFAULT 'not_started';
ALTER TABLE memory_point_status ADD CHECK (status IN ('not_started', 'in_progress', 'covered'));

UPDATE memory_point_status SET note = '' WHERE note IS NULL;
ALTER TABLE memory_point_status ALTER COLUMN note SET DEFAULT '';
ALTER TABLE memory_point_status ALTER COLUMN note SET NOT NULL;
