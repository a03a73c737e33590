//! Shaping never changes what builds: each class of object whose pg_dump text relies on a setting,
//! an order or a reading of its own, on a chain that exercises it, squashes and proves.

use devdb::Server;

use super::{paths, server, Tree};
use crate::Outcome;

/// Squashes `tree` on the test server (see [`squash_and_prove_on`]).
fn squash_and_prove(tree: &Tree) -> String {
    squash_and_prove_on(server(), tree)
}

/// Squashes `tree` on `server` (which proves the new set against the chain), checks that a second
/// squash changes nothing, and returns the text of `users`' initial file.
fn squash_and_prove_on(server: &Server, tree: &Tree) -> String {
    let report = tree.squash_on(server);
    assert!(paths(&report).contains(&"users/users_initial.sql".to_string()), "{:?}", paths(&report));
    assert_eq!(tree.check_on(server).outcome, Outcome::Unchanged);
    tree.read_named("users/users_initial.sql")
}

#[test]
fn functions_whose_bodies_name_tables_made_after_them_build() {
    // pg_dump writes functions before tables and relies on `check_function_bodies = false`: a
    // PL/pgSQL body naming a table's row type (in a file with no SQL function), a SQL body reading
    // a view that calls a function, a view calling that SQL function, and a function taking a
    // composite type all come back in pg_dump's order.
    let tree = Tree::new(&[
        (
            "users/V1__users_accounts.sql",
            "CREATE TABLE users_account (id integer PRIMARY KEY, email varchar(200) NOT NULL);
CREATE TYPE users_pair AS (a integer, b text);\n",
        ),
        (
            "users/V2__users_functions.sql",
            "CREATE FUNCTION users_first() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_row users_account%ROWTYPE;
BEGIN
  SELECT * INTO v_row FROM users_account ORDER BY id LIMIT 1;
  RETURN v_row.email;
END $$;
CREATE FUNCTION users_lower(e text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN lower(e); END $$;
CREATE FUNCTION users_sum(p users_pair) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v users_pair := p;
BEGIN
  RETURN v.a;
END $$;
INSERT INTO users_account VALUES (1, 'A@example.com');\n",
        ),
        (
            "evidence/V3__evidence_views.sql",
            "CREATE VIEW evidence_emails AS SELECT id, users_lower(email) AS email FROM users_account;
CREATE FUNCTION evidence_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM evidence_emails $$;
CREATE VIEW evidence_counts AS SELECT evidence_count() AS n;\n",
        ),
    ]);
    let users = squash_and_prove(&tree);
    let setting = users.find("SET LOCAL check_function_bodies = false;").expect(&users);
    let function = users.find("CREATE FUNCTION public.users_first()").expect(&users);
    let table = users.find("CREATE TABLE public.users_account").expect(&users);
    assert!(setting < function && function < table, "pg_dump's order and its setting are kept:\n{users}");
}

#[test]
fn conditions_on_varchar_lists_come_back_as_the_chain_built_them() {
    varchar_lists_on(server());
}

// Postgres 14 reads pg_dump's text back as it was; 18 drifts as 15 does. The rewritten text
// builds the chain's expression on both.
#[test]
#[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
fn majors_conditions_on_varchar_lists_come_back_as_the_chain_built_them_on_14() {
    varchar_lists_on(devdb::major_server(14));
}

#[test]
#[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
fn majors_conditions_on_varchar_lists_come_back_as_the_chain_built_them_on_18() {
    varchar_lists_on(devdb::major_server(18));
}

fn varchar_lists_on(server: &Server) {
    // pg_dump prints `kind IN ('a', 'b')` on a varchar column as
    // `(kind)::text = ANY ((ARRAY['a'::character varying, ...])::text[])`, which Postgres reads
    // back as another expression; a dump and restore drifts the same way.
    let tree = Tree::new(&[
        (
            "users/V1__users_accounts.sql",
            "CREATE TABLE users_account (
  id integer PRIMARY KEY,
  kind varchar(20) NOT NULL CHECK (kind IN ('admin', 'member', 'it''s')),
  state character varying NOT NULL DEFAULT 'new',
  CONSTRAINT users_account_state CHECK (state NOT IN ('gone', 'banned'))
);
CREATE INDEX users_account_active ON users_account (id) WHERE kind IN ('admin', 'member') AND state <> 'gone';
CREATE VIEW users_admins AS SELECT a.id FROM users_account a WHERE a.kind IN ('admin') OR a.state IN ('new', 'old');\n",
        ),
        ("users/V2__users_rows.sql", "INSERT INTO users_account VALUES (1, 'admin', 'new');\n"),
    ]);
    let users = squash_and_prove_on(server, &tree);
    assert!(!users.contains("::text[]"), "the drifting form is not written:\n{users}");
}

#[test]
fn keys_go_inside_partitioned_tables_without_partitions_and_tables_with_array_defaults() {
    let tree = Tree::new(&[(
        "users/V1__users_events.sql",
        "CREATE TABLE users_event (id bigint NOT NULL, at date NOT NULL, PRIMARY KEY (id, at), UNIQUE (at, id)) PARTITION BY RANGE (at);
CREATE TABLE users_log (id bigint NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE users_log_2024 PARTITION OF users_log FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE users_tagged (id integer PRIMARY KEY, tags text[] DEFAULT ARRAY['a', 'b'], owner bigint, owner_at date,
  FOREIGN KEY (owner, owner_at) REFERENCES users_log (id, at));
INSERT INTO users_log VALUES (1, '2024-02-01');\n",
    )]);
    let users = squash_and_prove(&tree);
    assert!(
        users.contains("    PRIMARY KEY (id, at),\n") && !users.contains("ADD CONSTRAINT users_event_pkey"),
        "the childless table's key is inside it:\n{users}"
    );
    // A column whose default is an array list is read as one column: the table's key and foreign
    // key go inside it too.
    assert!(
        !users.contains("ADD CONSTRAINT users_tagged_pkey")
            && !users.contains("ADD CONSTRAINT users_tagged_owner_fkey"),
        "{users}"
    );
}
