-- Moves chat history to the LangGraph checkpointer: each conversation gets a thread_id, messages go.
ALTER TABLE llmchat_conversation ADD COLUMN thread_id text;
UPDATE llmchat_conversation SET thread_id = gen_random_uuid()::text;
ALTER TABLE llmchat_conversation ALTER COLUMN thread_id SET NOT NULL;
ALTER TABLE llmchat_conversation ADD UNIQUE (thread_id);

ALTER TABLE llmchat_conversation ADD COLUMN title text NOT NULL DEFAULT '';
ALTER TABLE llmchat_conversation ADD COLUMN status text NOT NULL DEFAULT 'open';
ALTER TABLE llmchat_conversation ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE llmchat_conversation ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
UPDATE llmchat_conversation SET created_at = started_at, updated_at = started_at;
ALTER TABLE llmchat_conversation DROP COLUMN started_at;

-- Pre-launch: the hand-rolled message log held test chats only, nothing to carry over.
DROP TABLE llmchat_message;
