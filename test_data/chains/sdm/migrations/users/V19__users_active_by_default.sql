-- Activates accounts on sign-up and drops password_hash: sign-in moved to the identity provider.
ALTER TABLE users_account ALTER COLUMN is_active SET DEFAULT true;
ALTER TABLE users_account DROP COLUMN password_hash;
