-- Links conversations to journeys_journey by id instead of by slug, now that journeys live in the database.
ALTER TABLE llmchat_conversation ADD COLUMN journey_id bigint;

UPDATE llmchat_conversation AS c
SET journey_id = j.id
FROM journeys_journey AS j
WHERE j.slug = c.journey_slug;

-- Refuse to drop the slug while a conversation still points at a journey that does not exist.
DO $$
DECLARE
    orphans bigint;
BEGIN
    SELECT count(*) INTO orphans FROM llmchat_conversation WHERE journey_id IS NULL;
    IF orphans > 0 THEN
        RAISE EXCEPTION '% conversation(s) name a journey slug missing from journeys_journey', orphans
            USING HINT = 'create the missing journeys (or delete those conversations), then rerun the migration';
    END IF;
END
$$;

ALTER TABLE llmchat_conversation ALTER COLUMN journey_id SET NOT NULL;
ALTER TABLE llmchat_conversation
    ADD FOREIGN KEY (journey_id) REFERENCES journeys_journey (id) ON DELETE RESTRICT;
ALTER TABLE llmchat_conversation DROP COLUMN journey_slug;
