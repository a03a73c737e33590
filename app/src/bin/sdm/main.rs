//! `sdm`: the SDM platform's command line, what production runs.
//!
//! Every command works on the database named by `--database-url` or `DATABASE_URL`, prints text
//! for people, or JSON for scripts with `--json`, and on failure prints `error: ...` (with the
//! chain of causes; with `--json`, `{"error": "..."}` on stdout) and exits 1. `--help` prints the
//! command's own help on stdout. Flags are declared in `flags.rs`; each command is a module.

mod flags;
mod output;

mod chat;
mod check;
mod conversation;
mod history;
mod journey;
mod load_journeys;
mod migrate;
mod onboard;
mod points;
mod showmigrations;
mod user;

use std::ffi::OsString;

use anyhow::anyhow;
use app::db;

use crate::output::Output;

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let json = output::wants_json(&args);
    let result = match flags::Sdm::from_vec(args.clone()) {
        Ok(flags) => run(flags),
        Err(e) if e.is_help() => {
            let full = e.to_string();
            let help = app::help::for_command(&full, &args);
            print!("{help}{}", if help == full { "" } else { flags::GLOBAL_FLAGS });
            return;
        }
        Err(e) => Err(anyhow!("{}", app::help::explain(flags::Sdm::help_text(), &args, &e.to_string(), "sdm"))),
    };
    if let Err(error) = result {
        output::fail(json, &error);
    }
}

fn run(flags: flags::Sdm) -> anyhow::Result<()> {
    let out = Output { json: flags.json };
    let url = db::database_url(flags.database_url.as_deref())?;
    let mut client = db::connect(&url)?;
    let client = &mut client;
    match flags.subcommand {
        flags::SdmCmd::Migrate(cmd) => cmd.run(client, &url, &out),
        flags::SdmCmd::Showmigrations(cmd) => cmd.run(client, &out),
        flags::SdmCmd::Check(cmd) => cmd.run(client, &out),
        flags::SdmCmd::LoadJourneys(cmd) => cmd.run(client, &out),
        flags::SdmCmd::User(cmd) => cmd.run(client, &out),
        flags::SdmCmd::Journey(cmd) => cmd.run(client, &out),
        flags::SdmCmd::Onboard(cmd) => cmd.run(client, &out),
        flags::SdmCmd::Chat(cmd) => cmd.run(client, &out),
        flags::SdmCmd::History(cmd) => cmd.run(client, &out),
        flags::SdmCmd::Points(cmd) => cmd.run(client, &out),
        flags::SdmCmd::Conversation(cmd) => cmd.run(client, &out),
    }
}
