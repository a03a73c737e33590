-- Renames url to source_url and checksum to sha256; files moved to object storage, keyed by hash.
ALTER TABLE evidence_document RENAME COLUMN url TO source_url;
ALTER TABLE evidence_document ALTER COLUMN source_url TYPE text;
ALTER TABLE evidence_document RENAME COLUMN checksum TO sha256;
ALTER TABLE evidence_document ALTER COLUMN sha256 TYPE text;
ALTER TABLE evidence_document DROP COLUMN file_path;
