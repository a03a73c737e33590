-- Renames the 'open' status to 'active', adds 'archived', and allows one conversation per user and journey.
UPDATE llmchat_conversation SET status = 'active' WHERE status = 'open';
ALTER TABLE llmchat_conversation ALTER COLUMN status SET DEFAULT 'active';
ALTER TABLE llmchat_conversation ADD CHECK (status IN ('active', 'archived'));
ALTER TABLE llmchat_conversation ADD UNIQUE (user_id, journey_id);
