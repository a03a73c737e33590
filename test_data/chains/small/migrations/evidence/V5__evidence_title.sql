ALTER TABLE evidence_document ADD COLUMN title text NOT NULL DEFAULT '';
