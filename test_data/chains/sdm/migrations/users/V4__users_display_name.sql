-- Renames full_name to display_name: people pick how the assistant addresses them.
ALTER TABLE users_account RENAME COLUMN full_name TO display_name;
ALTER TABLE users_account ALTER COLUMN display_name TYPE text;
-- The type change keeps the old ''::character varying default; restate it as text.
ALTER TABLE users_account ALTER COLUMN display_name SET DEFAULT '';
