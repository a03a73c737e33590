-- Deletes a user's documents with the user, and indexes documents by owner for the library page.
ALTER TABLE evidence_document DROP CONSTRAINT evidence_document_owner_id_fkey;
ALTER TABLE evidence_document
    ADD FOREIGN KEY (owner_id) REFERENCES users_account (id) ON DELETE CASCADE;
CREATE INDEX evidence_document_owner_idx ON evidence_document (owner_id);

ALTER TABLE evidence_document ADD CONSTRAINT evidence_document_kind_check
    CHECK (kind IN ('upload', 'citation', 'link'));
