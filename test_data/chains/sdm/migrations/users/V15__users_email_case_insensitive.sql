-- Makes email unique regardless of case: Alice@x.org and alice@x.org are one account.
ALTER TABLE users_account ALTER COLUMN email TYPE text;
ALTER TABLE users_account DROP CONSTRAINT users_account_email_key;
CREATE UNIQUE INDEX users_account_email_lower_key ON users_account (lower(email));
