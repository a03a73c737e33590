-- Sets up tables another library manages.
-- squash: keep
CREATE TABLE store (prefix text NOT NULL, key text NOT NULL, PRIMARY KEY (prefix, key));
INSERT INTO store VALUES ('a', 'b');
