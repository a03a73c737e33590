//! `sdm user create` and `sdm user delete`: user accounts.

use postgres::Client;

use app::{erasure, users};

use crate::flags;
use crate::output::Output;

impl flags::User {
    /// Runs the `user` subcommand.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        match self.subcommand {
            flags::UserCmd::Create(cmd) => cmd.run(client, out),
            flags::UserCmd::Delete(cmd) => cmd.run(client, out),
        }
    }
}

impl flags::Create {
    /// Creates the account and prints it.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let created = users::create(client, &self.email, self.name.as_deref().unwrap_or(""))?;
        out.print(&created, || match created.display_name.as_str() {
            "" => format!("Created user {} <{}>", created.id, created.email),
            name => format!("Created user {} {name} <{}>", created.id, created.email),
        })
    }
}

impl flags::Delete {
    /// Deletes the user with everything they own and prints what went.
    pub fn run(self, client: &mut Client, out: &Output) -> anyhow::Result<()> {
        let user = users::by_email(client, &self.email)?;
        let deleted = erasure::delete_user(client, user.id)?;
        out.print(&deleted, || {
            format!(
                "Deleted user {} <{}>: {} conversation(s), {} onboarding answer(s), {} evidence document(s), {} store item(s)",
                deleted.user_id,
                deleted.email,
                deleted.conversations.len(),
                deleted.onboarding_answers,
                deleted.evidence_documents,
                deleted.store_items
            )
        })
    }
}
