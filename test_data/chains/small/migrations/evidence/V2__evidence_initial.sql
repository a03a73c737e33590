CREATE TABLE evidence_document (id serial PRIMARY KEY, owner_id integer REFERENCES users_account(id));
