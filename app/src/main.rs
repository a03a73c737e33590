//! `sdm`: the SDM platform's command line, what production runs.
//!
//! Every command works on the database named by `--database-url` or `DATABASE_URL`, prints text
//! for people, or JSON for scripts with `--json`, and on failure prints `error: ...` (with the
//! chain of causes) and exits 1.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;
use serde_json::{json, Value};

use app::assistant::GuideAssistant;
use app::extractor::PhraseExtractor;
use app::points::PointStatus;
use app::{chat, conversations, db, erasure, fixtures, journeys, migrate, migrations, onboarding, points, users};

mod flags {
    use std::path::PathBuf;

    xflags::xflags! {
        /// The SDM platform: migrations, journeys, users and their conversations.
        cmd sdm {
            /// Database to work on (default: the DATABASE_URL environment variable).
            optional --database-url url: String
            /// Print JSON for scripts instead of text.
            optional --json

            /// Apply the embedded migrations the database has not applied yet.
            cmd migrate {}
            /// List every embedded migration by module, marking the applied ones with [X].
            cmd showmigrations {}
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
}

fn main() {
    let flags = flags::Sdm::from_env_or_exit();
    if let Err(error) = run(flags) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn run(flags: flags::Sdm) -> anyhow::Result<()> {
    let out = Output { json: flags.json };
    let url = db::database_url(flags.database_url.as_deref())?;
    let mut client = db::connect(&url)?;
    let client = &mut client;
    match flags.subcommand {
        flags::SdmCmd::Migrate(_) => {
            let set = migrations::MigrationSet::embedded().context("read the embedded migrations")?;
            let started = Instant::now();
            let applied = migrate::migrate(client, &set)?;
            let rows: Vec<Value> =
                applied.iter().map(|m| json!({"version": m.version, "name": m.name, "millis": m.millis})).collect();
            out.print(&json!({ "applied": rows }), || {
                let mut text: Vec<String> = applied
                    .iter()
                    .map(|m| format!("Applied V{}__{} ({:.1} ms)", m.version, m.name, m.millis))
                    .collect();
                if applied.is_empty() {
                    text.push("No migrations to apply.".into());
                } else {
                    text.push(format!(
                        "{} migration(s) applied in {:.1} ms.",
                        applied.len(),
                        started.elapsed().as_secs_f64() * 1e3
                    ));
                }
                text.join("\n")
            })
        }
        flags::SdmCmd::Showmigrations(_) => {
            let set = migrations::MigrationSet::embedded().context("read the embedded migrations")?;
            let statuses = migrate::status(client, &set)?;
            let rows: Vec<Value> = statuses
                .iter()
                .map(|s| {
                    json!({"version": s.version, "name": s.name, "module": s.module,
                           "applied_on": s.applied_on, "missing_file": s.missing_file})
                })
                .collect();
            out.print(&json!({ "migrations": rows }), || migrate::show_migrations(&statuses).trim_end().to_string())
        }
        flags::SdmCmd::LoadJourneys(cmd) => {
            let dir = cmd.fixtures.unwrap_or_else(|| PathBuf::from("fixtures/journeys"));
            let loaded = load_journeys(client, &dir)?;
            out.print(&json!({ "journeys": loaded }), || {
                format!("Loaded {} journey(s) from {}: {}", loaded.len(), dir.display(), loaded.join(", "))
            })
        }
        flags::SdmCmd::User(user) => match user.subcommand {
            flags::UserCmd::Create(cmd) => {
                let created = users::create(client, &cmd.email, cmd.name.as_deref().unwrap_or(""))?;
                out.print(&created, || match created.display_name.as_str() {
                    "" => format!("Created user {} <{}>", created.id, created.email),
                    name => format!("Created user {} {name} <{}>", created.id, created.email),
                })
            }
            flags::UserCmd::Delete(cmd) => {
                let user = users::by_email(client, &cmd.email)?;
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
        },
        flags::SdmCmd::Journey(journey) => match journey.subcommand {
            flags::JourneyCmd::List(_) => {
                let list = journeys::list(client)?;
                out.print(&json!({ "journeys": list }), || {
                    if list.is_empty() {
                        return "No journeys; load them with `sdm load-journeys`.".into();
                    }
                    let width = list.iter().map(|j| j.slug.len()).max().unwrap_or(0);
                    list.iter()
                        .map(|j| {
                            let inactive = if j.is_active { "" } else { " [inactive]" };
                            format!(
                                "{:width$}  {} ({} questions, {} points){inactive}",
                                j.slug, j.title, j.questions, j.points
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
        },
        flags::SdmCmd::Onboard(cmd) => {
            let answers = match &cmd.answers {
                None => serde_json::Map::new(),
                Some(text) => match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(map)) => map,
                    Ok(_) => {
                        bail!("--answers must be a JSON object of question id to answer, like '{{\"pain-level\": 6}}'")
                    }
                    Err(e) => bail!("--answers is not valid JSON: {e}"),
                },
            };
            let onboarding = onboarding::onboard(client, &cmd.email, &cmd.journey, &answers)?;
            let c = &onboarding.conversation;
            let value = json!({
                "conversation_id": c.id,
                "thread_id": c.thread_id,
                "created": onboarding.conversation_created,
                "user_id": onboarding.user_id,
                "journey": onboarding.journey,
                "answers_saved": onboarding.answers_saved,
                "unanswered": onboarding.unanswered,
            });
            out.print(&value, || {
                let verb = if onboarding.conversation_created { "Started" } else { "Resumed" };
                let mut text =
                    format!("{verb} conversation {} on {} (thread {})", c.id, onboarding.journey, c.thread_id);
                if !onboarding.unanswered.is_empty() {
                    text.push_str(&format!("\nUnanswered questions: {}", onboarding.unanswered.join(", ")));
                }
                text
            })
        }
        flags::SdmCmd::Chat(cmd) => {
            let turn = chat::turn(client, cmd.conversation, &cmd.message, &GuideAssistant, &PhraseExtractor)?;
            out.print(&turn, || turn.reply.clone())
        }
        flags::SdmCmd::History(cmd) => {
            let conversation = conversations::get(client, cmd.conversation)?;
            let messages = conversations::history(client, conversation.id)?;
            let value =
                json!({"conversation_id": conversation.id, "thread_id": conversation.thread_id, "messages": messages});
            out.print(&value, || {
                if messages.is_empty() {
                    return format!("Conversation {} has no messages yet.", conversation.id);
                }
                messages.iter().map(|m| format!("{}: {}", m.role.as_str(), m.content)).collect::<Vec<_>>().join("\n")
            })
        }
        flags::SdmCmd::Points(cmd) => {
            let conversation = conversations::get(client, cmd.conversation)?;
            let progress = points::progress(client, conversation.id)?;
            let value =
                json!({"conversation_id": conversation.id, "journey": conversation.journey_slug, "points": progress});
            out.print(&value, || {
                progress
                    .iter()
                    .map(|p| {
                        let mark = match p.status {
                            PointStatus::NotStarted => "[ ]",
                            PointStatus::InProgress => "[~]",
                            PointStatus::Covered => "[x]",
                        };
                        format!("{mark} {}  {} ({})", p.point.point_id, p.point.title, p.status.as_str())
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        flags::SdmCmd::Conversation(conversation) => match conversation.subcommand {
            flags::ConversationCmd::Remove(cmd) => {
                let deleted = erasure::delete_conversation(client, cmd.id)?;
                out.print(&deleted, || {
                    let rows = deleted.checkpoint_rows;
                    format!(
                        "Deleted conversation {} (thread {}): {} point status(es), {} checkpoint(s), {} blob(s), {} write(s), {} memory item(s)",
                        deleted.conversation_id,
                        deleted.thread_id,
                        deleted.point_statuses,
                        rows.checkpoints,
                        rows.checkpoint_blobs,
                        rows.checkpoint_writes,
                        deleted.store_items
                    )
                })
            }
        },
    }
}

/// Reads, validates and upserts the journey fixtures in `dir`; returns the slugs loaded.
fn load_journeys(client: &mut postgres::Client, dir: &Path) -> anyhow::Result<Vec<String>> {
    let journeys = fixtures::load_dir(dir).with_context(|| format!("read journey fixtures in {}", dir.display()))?;
    fixtures::upsert(client, &journeys).context("load journeys into the database")?;
    Ok(journeys.iter().map(|j| j.slug.clone()).collect())
}

/// Where command results go: text for people, or one JSON document for scripts.
struct Output {
    json: bool,
}

impl Output {
    fn print<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
        let rendered = if self.json { serde_json::to_string_pretty(value)? } else { text() };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{rendered}").context("write to standard output")?;
        Ok(())
    }
}
