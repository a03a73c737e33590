//! Command-line flags of `sdm`, declared once; `--help` comes from these doc comments.

use std::path::PathBuf;

/// Appended to a command's own `--help`: the flags every command takes.
pub const GLOBAL_FLAGS: &str = "\nEvery command also takes --database-url <url> and --json (see `sdm --help`).\n";

xflags::xflags! {
    /// The SDM platform: migrations, journeys, users and their conversations.
    cmd sdm {
        /// Database to work on (default: the DATABASE_URL environment variable).
        optional --database-url url: String
        /// Print JSON for scripts instead of text.
        optional --json

        /// Apply the embedded migrations the database has not applied yet; a database migrated
        /// with a chain a squash replaced is first moved onto the squashed set (checked, nothing rerun).
        cmd migrate {
            /// Longest wait for one lock, per migration: 500ms by default (else SDM_LOCK_TIMEOUT),
            /// e.g. 2s; 0 waits as long as it takes. A file's `-- lock-timeout:` line wins.
            optional --lock-timeout duration: String
            /// How many times a migration that timed out on a lock is tried again: 6 by default
            /// (else SDM_LOCK_RETRIES).
            optional --lock-retries count: u32
        }
        /// List every embedded migration by module: [X] applied, [ ] pending, [=] squashed,
        /// [!] flagged (exit 1 when `sdm migrate` would refuse the database).
        cmd showmigrations {}
        /// Compare the database's schema with the one its migrations give (the committed
        /// record) and list what differs; exit 1 unless equal.
        cmd check {}
        /// Insert or update journeys (with their conversation points) from fixture files.
        cmd load-journeys {
            /// Folder of journey JSON files (default: fixtures/journeys).
            optional --fixtures dir: PathBuf
        }
        /// Create or delete user accounts.
        cmd user {
            /// Create a user account.
            cmd create {
                /// The user's email address (unique, whatever its case).
                required --email email: String
                /// The name shown for the user.
                optional --name name: String
            }
            /// Delete a user with everything they own: conversations, chat history,
            /// onboarding answers, evidence and memories.
            cmd delete {
                /// The user's email address.
                required --email email: String
            }
        }
        /// Look at journeys.
        cmd journey {
            /// List the journeys users can be onboarded onto.
            cmd list {}
        }
        /// Answer a journey's onboarding questions for a user and start their conversation.
        cmd onboard {
            /// The user's email address.
            required --email email: String
            /// The journey's slug (see `sdm journey list`).
            required --journey slug: String
            /// Answers: a JSON object from question id to answer.
            optional --answers json: String
        }
        /// Send a message in a conversation and print the assistant's reply.
        cmd chat {
            /// The conversation's id (printed by `sdm onboard`).
            required --conversation id: i64
            /// What the user says.
            required message: String
        }
        /// Print a conversation's messages, oldest first.
        cmd history {
            /// The conversation's id.
            required --conversation id: i64
        }
        /// List the conversation points of a conversation's journey with their status.
        cmd points {
            /// The conversation's id.
            required --conversation id: i64
        }
        /// Delete conversations.
        cmd conversation {
            /// Delete a conversation with its chat history, point statuses and memories.
            cmd remove delete {
                /// The conversation's id.
                required id: i64
            }
        }
    }
}

impl Sdm {
    /// The help text of the whole command tree, as `--help` prints it.
    pub fn help_text() -> &'static str {
        Self::HELP_
    }
}
