-- Sets up the LangGraph store tables, as langgraph-checkpoint-postgres 3.2's PostgresStore.setup() does.
-- squash: keep
--
-- Each numbered block below is that step of the library's store MIGRATIONS list; store_migrations
-- records v = 0..3 so a later Python setup() finds nothing left to do. Never record a higher v.
-- The library builds store_prefix_idx CONCURRENTLY, which cannot run inside a migration's
-- transaction; a plain CREATE INDEX leaves the same schema. No vector index is configured, so
-- the store_vectors steps do not apply.

CREATE TABLE IF NOT EXISTS store_migrations (
    v INTEGER PRIMARY KEY
);

-- v0
CREATE TABLE IF NOT EXISTS store (
    -- 'prefix' is the namespace joined with '.', e.g. 'users.42.memories'.
    prefix text NOT NULL,
    key text NOT NULL,
    value jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prefix, key)
);

-- v1
CREATE INDEX IF NOT EXISTS store_prefix_idx ON store USING btree (prefix text_pattern_ops);

-- v2
ALTER TABLE store
    ADD COLUMN IF NOT EXISTS expires_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN IF NOT EXISTS ttl_minutes INT;

-- v3
CREATE INDEX IF NOT EXISTS idx_store_expires_at ON store (expires_at)
    WHERE expires_at IS NOT NULL;

INSERT INTO store_migrations (v)
SELECT v FROM generate_series(0, 3) AS v
ON CONFLICT (v) DO NOTHING;
