ALTER TABLE users_account ADD COLUMN name text;
INSERT INTO users_account (email) VALUES ('a@example.com');
