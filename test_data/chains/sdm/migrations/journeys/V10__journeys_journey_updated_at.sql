-- Lets journeys be switched off and tracks edits; widens slug and title, which outgrew their limits.
ALTER TABLE journeys_journey ALTER COLUMN slug TYPE text;
ALTER TABLE journeys_journey ALTER COLUMN title TYPE text;
ALTER TABLE journeys_journey RENAME COLUMN questions TO onboarding_questions;

ALTER TABLE journeys_journey ADD COLUMN is_active boolean NOT NULL DEFAULT true;
ALTER TABLE journeys_journey ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
UPDATE journeys_journey SET updated_at = created_at;
ALTER TABLE journeys_journey DROP COLUMN created_at;
