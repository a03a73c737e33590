CREATE TABLE users_account (id serial PRIMARY KEY, email text NOT NULL);
