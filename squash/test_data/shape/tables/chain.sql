-- Keys, identity, serial columns, checks, comments and indexes as chains write them.
CREATE TABLE account (
  id bigint GENERATED ALWAYS AS IDENTITY (START WITH 1000) PRIMARY KEY,
  email text NOT NULL UNIQUE,
  referrer_id bigint REFERENCES account(id) ON DELETE SET NULL,
  score integer NOT NULL DEFAULT 0 CHECK (score >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (referrer_id IS DISTINCT FROM id)
);
COMMENT ON TABLE account IS 'who signs in';
COMMENT ON COLUMN account.email IS 'stored as typed';
CREATE INDEX account_created_at_idx ON account (created_at DESC);
CREATE UNIQUE INDEX account_email_lower_key ON account (lower(email));

CREATE TABLE "Document" (
  id serial PRIMARY KEY,
  "ownerId" bigint NOT NULL,
  title varchar(200) NOT NULL DEFAULT '',
  tags text[] NOT NULL DEFAULT '{}',
  body jsonb,
  CONSTRAINT "Document_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES account(id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT document_title_not_blank CHECK (title <> '')
);
CREATE INDEX "Document_body_idx" ON "Document" USING gin (body);
CREATE INDEX "Document_ownerId_title_idx" ON "Document" ("ownerId", title) WHERE title <> '';

CREATE SEQUENCE ticket_seq START 500 INCREMENT 5;
CREATE TABLE ticket (
  number bigint PRIMARY KEY DEFAULT nextval('ticket_seq'),
  document_id integer NOT NULL,
  reviewer_id bigint,
  UNIQUE (document_id, number) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE ticket ADD CONSTRAINT ticket_document_fk FOREIGN KEY (document_id) REFERENCES "Document"(id);
ALTER TABLE ticket ADD CONSTRAINT ticket_reviewer_check CHECK (reviewer_id > 0) NOT VALID;

-- A table made before the one its key references: the key follows that table.
CREATE TABLE review (id smallserial PRIMARY KEY, note_id integer NOT NULL);
CREATE TABLE note (id integer PRIMARY KEY, review_id smallint REFERENCES review(id));
ALTER TABLE review ADD FOREIGN KEY (note_id) REFERENCES note(id);

CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER account_touch BEFORE UPDATE ON account FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW ranked AS SELECT id, score FROM account ORDER BY score DESC;
COMMENT ON VIEW ranked IS 'best first';
