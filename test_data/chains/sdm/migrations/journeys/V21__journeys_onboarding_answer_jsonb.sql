-- Stores onboarding answers as JSON (numbers for scales, strings for choices) and keeps one per question.
ALTER TABLE journeys_onboarding_answer ALTER COLUMN question_id TYPE text;
ALTER TABLE journeys_onboarding_answer ALTER COLUMN answer TYPE jsonb USING to_jsonb(answer);
ALTER TABLE journeys_onboarding_answer ADD UNIQUE (user_id, journey_id, question_id);
