//! Rows in tables whose foreign keys form a cycle, within a module and across two: the data
//! migration fills each such group of tables in one statement, whatever order their rows need.

use super::{paths, Tree};
use crate::Outcome;

#[test]
fn carries_rows_of_tables_whose_keys_form_a_cycle() {
    let tree = Tree::new(&[
        ("users/V1__users_accounts.sql", "CREATE TABLE users_account (id integer PRIMARY KEY, favourite_id integer);\n"),
        (
            "evidence/V2__evidence_documents.sql",
            "CREATE TABLE evidence_document (id integer PRIMARY KEY, owner_id integer NOT NULL REFERENCES users_account(id));\n",
        ),
        (
            "users/V3__users_favourite.sql",
            "ALTER TABLE users_account ADD FOREIGN KEY (favourite_id) REFERENCES evidence_document(id);\n",
        ),
        (
            "memory/V4__memory_initial.sql",
            "CREATE TABLE memory_topic (id integer PRIMARY KEY, pinned_note_id integer);
CREATE TABLE memory_note (id integer PRIMARY KEY, topic_id integer NOT NULL REFERENCES memory_topic(id));
ALTER TABLE memory_topic ADD FOREIGN KEY (pinned_note_id) REFERENCES memory_note(id);\n",
        ),
        (
            "memory/V5__memory_seed.sql",
            // Name order would insert the documents before their owners, and the notes before the
            // topics that pin them; the rows themselves form no cycle but for user 1's favourite.
            "INSERT INTO users_account VALUES (1, NULL), (2, NULL);
INSERT INTO evidence_document VALUES (10, 1), (11, 2);
UPDATE users_account SET favourite_id = 10 WHERE id = 1;
INSERT INTO memory_topic VALUES (1, NULL);
INSERT INTO memory_note VALUES (5, 1);
INSERT INTO memory_topic VALUES (2, 5);\n",
        ),
    ]);
    let report = tree.squash();
    assert_eq!(
        paths(&report),
        [
            "users/users_initial.sql",
            "evidence/evidence_initial.sql",
            "memory/memory_initial.sql",
            "users/users_foreign_keys.sql",
            "evidence/evidence_foreign_keys.sql",
            "evidence/evidence_data.sql",
            "memory/memory_data.sql",
        ]
    );
    assert_eq!(report.rows_carried, 7, "{}", report.summary());
    for file in ["evidence/evidence_data.sql", "memory/memory_data.sql"] {
        let data = tree.read_named(file);
        assert!(data.contains("form a cycle") && data.contains("WITH rows_1 AS (\nINSERT INTO "), "{data}");
    }
    assert_eq!(tree.check().outcome, Outcome::Unchanged);
}
