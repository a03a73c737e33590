//! Chains with `-- no-transaction` migrations (a concurrent index, an enum value used in the same
//! file) squash into a set that needs none: a fresh database builds its indexes in a transaction.

use super::Tree;
use crate::FileKind;

#[test]
fn squashes_a_chain_with_no_transaction_migrations() {
    let tree = Tree::new(&[
        ("users/V1__users_accounts.sql", "CREATE TABLE users_account (id serial PRIMARY KEY, email text NOT NULL);\n"),
        (
            "users/V2__users_email_idx.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY users_account_email_idx ON users_account (email);\n",
        ),
        (
            "users/V3__users_mood.sql",
            "-- no-transaction\nCREATE TYPE users_mood AS ENUM ('sad');\nALTER TYPE users_mood ADD VALUE 'happy';\n\
             ALTER TABLE users_account ADD COLUMN mood users_mood NOT NULL DEFAULT 'happy';\n",
        ),
    ]);
    let report = tree.squash();
    let initial = tree.read_named("users/users_initial.sql");
    assert!(initial.contains("CREATE INDEX users_account_email_idx ON public.users_account"), "{initial}");
    assert!(!initial.contains("-- no-transaction") && !initial.contains("CONCURRENTLY"), "{initial}");
    assert!(report.after.iter().all(|f| f.kind == FileKind::Initial), "{}", report.summary());
}
