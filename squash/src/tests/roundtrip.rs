//! Schemas whose `pg_dump` does not restore to itself: the generated set follows the chain's
//! catalog where pg_dump's text would build something else.

use devdb::Server;

use super::{paths, server, Tree};
use crate::Outcome;

#[test]
fn partitions_and_children_keep_the_defaults_the_chain_gave_them() {
    partitions_and_children_on(server());
}

// pg_dump 18 names the partitions' NOT NULL constraints (`CONSTRAINT users_event_id_not_null NOT
// NULL`), inherited from the table they were made LIKE.
#[test]
#[ignore = "Postgres 14 and 18 tier: `python3 tools/pg-binaries.py 14 18`, then `cargo xtask verify` runs it"]
fn majors_partitions_and_children_keep_the_defaults_and_names_the_chain_gave_them_on_18() {
    partitions_and_children_on(devdb::major_server(18));
}

fn partitions_and_children_on(server: &Server) {
    let tree = Tree::new(&[
        (
            "users/V1__users_accounts.sql",
            // As Prisma and others write them: partitions made LIKE the parent, then attached;
            // `timestamp(3)` makes pg_dump's `DEFAULT NULL` a real default when replayed.
            "CREATE TABLE users_event (
  id text NOT NULL,
  created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  seen_at timestamp(3) DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE users_event_2024 (LIKE users_event INCLUDING INDEXES);
ALTER TABLE users_event ATTACH PARTITION users_event_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE users_event_2025 (LIKE users_event INCLUDING DEFAULTS INCLUDING INDEXES);
ALTER TABLE users_event ATTACH PARTITION users_event_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE users_note (id integer PRIMARY KEY, written_at timestamp(3) DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE users_note_draft () INHERITS (users_note);
ALTER TABLE users_note_draft ALTER COLUMN written_at DROP DEFAULT;
CREATE TABLE users_note_copy (id integer, written_at timestamp(3)) INHERITS (users_note);
ALTER TABLE users_note_copy ALTER COLUMN written_at DROP DEFAULT;\n",
        ),
        ("users/V2__users_more.sql", "INSERT INTO users_event (id, created_at) VALUES ('a', '2024-05-01');\n"),
    ]);
    let report = tree.squash_on(server);
    assert_eq!(paths(&report), ["users/users_initial.sql", "users/users_data.sql"]);
    let users = tree.read_named("users/users_initial.sql");
    assert!(!users.contains("DEFAULT NULL NOT NULL") && !users.contains("DEFAULT NULL CONSTRAINT"), "{users}");
    for child in ["users_note_draft", "users_note_copy"] {
        let drop = format!("ALTER TABLE ONLY public.{child} ALTER COLUMN written_at DROP DEFAULT;");
        assert!(users.contains(&drop), "{users}");
    }
    assert_eq!(tree.check_on(server).outcome, Outcome::Unchanged);
}
