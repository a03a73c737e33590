-- Widens evidence_document.title: citation titles run past 200 characters.
ALTER TABLE evidence_document ALTER COLUMN title TYPE text;
