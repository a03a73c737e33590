-- One object of every kind the schema snapshot reads, to compare snapshots across Postgres majors.
CREATE SCHEMA extra;
COMMENT ON SCHEMA extra IS 'extra objects';
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN email AS text NOT NULL CHECK (VALUE LIKE '%@%');
CREATE DOMAIN positive AS integer DEFAULT 1 CONSTRAINT positive_check CHECK (VALUE > 0);
CREATE TYPE pair AS (a integer, b text);
CREATE TYPE floatrange AS RANGE (subtype = float8);
CREATE COLLATION extra.plain (provider = libc, locale = 'C');
CREATE TABLE account (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email email,
  handle text NOT NULL UNIQUE,
  name text COLLATE "C",
  mood mood NOT NULL DEFAULT 'ok',
  score positive,
  created timestamptz NOT NULL DEFAULT now(),
  upper_handle text GENERATED ALWAYS AS (upper(handle)) STORED,
  CONSTRAINT handle_length CHECK (length(handle) BETWEEN 1 AND 40)
);
COMMENT ON TABLE account IS 'who uses it';
COMMENT ON COLUMN account.handle IS 'the public name';
CREATE TABLE note (
  id serial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES account (id) ON DELETE CASCADE,
  body text NOT NULL,
  during tstzrange,
  tags text[] NOT NULL DEFAULT '{}',
  EXCLUDE USING gist (during WITH &&)
);
CREATE INDEX note_body_idx ON note (lower(body)) WHERE body <> '';
CREATE UNIQUE INDEX note_account_body_idx ON note (account_id, body) INCLUDE (id);
CREATE TABLE event (id bigint NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE event_2024 PARTITION OF event FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
ALTER TABLE event ADD PRIMARY KEY (id, at);
CREATE TABLE base (id integer NOT NULL, label text);
CREATE TABLE derived (extra text NOT NULL) INHERITS (base);
CREATE UNLOGGED TABLE cache (key text PRIMARY KEY, value jsonb) WITH (fillfactor = 70);
CREATE VIEW active_account AS SELECT id, handle FROM account WHERE mood <> 'sad';
CREATE MATERIALIZED VIEW note_count AS SELECT account_id, count(*) AS n FROM note GROUP BY account_id;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.body := trim(NEW.body); RETURN NEW; END $$;
CREATE TRIGGER note_touch BEFORE INSERT OR UPDATE ON note FOR EACH ROW EXECUTE FUNCTION touch();
CREATE FUNCTION add(a integer, b integer DEFAULT 1) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE PROCEDURE tidy() LANGUAGE sql AS $$ DELETE FROM cache $$;
CREATE AGGREGATE total(integer) (SFUNC = int4pl, STYPE = integer, INITCOND = '0');
ALTER TABLE note ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_notes ON note FOR SELECT TO PUBLIC USING (account_id > 0);
CREATE STATISTICS account_stats (dependencies) ON handle, mood FROM account;
CREATE RULE no_delete AS ON DELETE TO cache DO INSTEAD NOTHING;
CREATE SEQUENCE extra.counter START 10 INCREMENT 5 CACHE 1;
CREATE PUBLICATION notes FOR TABLE note;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE VIEW joined AS SELECT a.id, n.body, (SELECT count(*) FROM note x WHERE x.account_id = a.id) AS c FROM account a JOIN note n ON n.account_id = a.id;
CREATE VIEW aliased AS SELECT a.id, a.handle AS h FROM account a WHERE a.handle LIKE 'x%' ORDER BY a.handle;
CREATE VIEW extra.sub AS SELECT s.id FROM (SELECT account.id FROM public.account) s WHERE s.id > 1;
