//! What a squash carries over besides the schema: rows the chain leaves behind, and migrations
//! marked `-- squash: keep`, which nothing later may change.

use super::{paths, Tree};
use crate::Outcome;

#[test]
fn carries_rows_left_by_unmarked_migrations() {
    let tree = Tree::new(&[
        (
            "users/V1__users_accounts.sql",
            "CREATE TABLE users_account (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL,
               prefs jsonb, created_at timestamptz NOT NULL DEFAULT now(), tags text[], doubled integer GENERATED ALWAYS AS (length(email) * 2) STORED);
             CREATE TABLE users_audit (id serial PRIMARY KEY, what text NOT NULL);
             CREATE FUNCTION users_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO users_audit (what) VALUES (NEW.email); RETURN NEW; END $$;
             CREATE TRIGGER users_account_audit AFTER INSERT ON users_account FOR EACH ROW EXECUTE FUNCTION users_audit_insert();\n",
        ),
        (
            "evidence/V2__evidence_documents.sql",
            "CREATE TABLE evidence_document (id serial PRIMARY KEY, owner_id bigint REFERENCES users_account(id), title text);\n",
        ),
        (
            "users/V3__users_seed.sql",
            "INSERT INTO users_account (email, prefs, tags) VALUES
               ('a@example.com', 'null', '{x,y}'), ('b@example.com', NULL, '{}'), ('c@example.com', '{\"k\": [1, \"$json$\"]}', NULL),
               ('gone@example.com', '\"text\"', NULL);
             DELETE FROM users_account WHERE email = 'gone@example.com';
             UPDATE users_account SET prefs = '{\"dark\": true}' WHERE email = 'b@example.com';\n",
        ),
        (
            "evidence/V4__evidence_seed.sql",
            "INSERT INTO evidence_document (owner_id, title) SELECT id, 'doc of ' || email FROM users_account;\n",
        ),
    ]);
    let report = tree.squash();
    assert_eq!(
        paths(&report),
        [
            "users/users_initial.sql",
            "evidence/evidence_initial.sql",
            "users/users_data.sql",
            "evidence/evidence_data.sql",
        ]
    );
    assert_eq!(report.rows_carried, 3 + 4 + 3, "{}", report.summary());
    let users = tree.read_named("users/users_data.sql");
    assert!(
        users.contains("INSERT INTO public.users_account (id, email, prefs, created_at, tags) OVERRIDING SYSTEM VALUE"),
        "{users}"
    );
    assert!(users.contains("json_populate_recordset(NULL::public.users_audit"), "{users}");
    assert!(users.contains("ALTER TABLE public.users_account DISABLE TRIGGER users_account_audit;"), "{users}");
    assert!(users.contains("SELECT pg_catalog.setval('public.users_account_id_seq', 4, true);"), "{users}");
    assert_eq!(tree.check().outcome, Outcome::Unchanged);
}

#[test]
fn a_later_change_to_what_a_kept_migration_made_is_an_error() {
    let kept = "-- squash: keep\nCREATE TABLE store (prefix text NOT NULL, key text NOT NULL, PRIMARY KEY (prefix, key));\nINSERT INTO store VALUES ('a', 'b');\n";
    let base = [
        ("users/V1__users_accounts.sql", "CREATE TABLE users_account (id integer PRIMARY KEY);\n"),
        ("memory/V2__setup_store.sql", kept),
    ];
    for (later, expect) in [
        ("ALTER TABLE store ADD COLUMN value jsonb;\n", "alters table store"),
        ("DROP TABLE store;\n", "drops table store"),
        ("CREATE INDEX store_key_idx ON store (key);\n", "alters table store"),
        (
            "CREATE TABLE memory_item (id integer PRIMARY KEY, prefix text, key text, FOREIGN KEY (prefix, key) REFERENCES store);\n",
            "FK CONSTRAINT public memory_item memory_item_prefix_key_fkey",
        ),
        ("UPDATE store SET key = 'c';\n", "table public.store: kept migration V2__setup_store writes 1 rows"),
    ] {
        let tree = Tree::new(&base);
        tree.write("memory/V3__memory_later.sql", later);
        let before = tree.snapshot();
        let error = tree.squash_err();
        assert!(error.contains(expect), "{later}: {error}");
        assert!(error.contains("V2__setup_store") && error.contains("V3__memory_later"), "{later}: {error}");
        assert_eq!(tree.snapshot(), before);
    }
}
