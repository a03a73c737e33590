//! Command-line flags of `cargo xtask`, declared once; `--help` comes from these doc comments.

use std::ffi::OsString;
use std::path::PathBuf;

xflags::xflags! {
    /// The SDM workspace's automation. With DATABASE_URL unset, commands run on an ephemeral
    /// local Postgres under target/ that is started and stopped for them.
    cmd xtask {
        /// Drop and recreate the database (the ephemeral one needs no confirmation).
        cmd reset {
            /// Confirm the database to drop, by its exact name: --yes=<dbname>.
            optional --yes dbname: String
            /// Also allow a server that is not on this machine.
            optional --allow-remote
            /// Print the steps without running them.
            optional --dry-run
        }
        /// Apply pending migrations (the same code path as `sdm migrate`).
        cmd migrate {
            /// Print the pending migrations without applying them.
            optional --dry-run
            /// Migrate this folder of V<version>__<name>.sql files instead of migrations/.
            optional --migrations dir: PathBuf
            /// Longest wait for one lock, per migration: 500ms by default (else SDM_LOCK_TIMEOUT);
            /// a file's `-- lock-timeout:` line wins.
            optional --lock-timeout duration: String
            /// How many times a migration that timed out on a lock is tried again: 6 by default
            /// (else SDM_LOCK_RETRIES).
            optional --lock-retries count: u32
        }
        /// List every migration as applied [X] or pending [ ] (as `sdm showmigrations`).
        cmd status {}
        /// Write a new migration with the journeys and points that changed in fixtures/journeys/
        /// (applied migrations are never rewritten), and record it in the lock file.
        cmd fixtures {
            /// Fail if the migrations do not load the fixtures as they are, instead of writing.
            optional --check
            /// Show the migration that would be written; write nothing.
            optional --dry-run
        }
        /// Write migrations/migrations.lock.json: every migration's checksum and the schema a
        /// fresh database migrated with them has (what `sdm check` compares with).
        cmd lock {
            /// Fail if the file is stale or a recorded migration was edited; write nothing.
            optional --check
            /// Allow rewriting the recorded checksum of this version (a migration never applied anywhere).
            optional --amend version: i32
        }
        /// The CI gate: format, clippy, migrations, fixtures, squawk, actionlint, a fresh
        /// database, LangGraph schema, the checklist and every test. Stops at the first failure.
        cmd verify {
            /// Write a JSON report of the steps to this file.
            optional --json path: PathBuf
            /// Skip the checks against the Python LangGraph library.
            optional --skip-python
            /// Skip the checks against LangGraph.js (js/package-lock.json).
            optional --skip-js
        }
        /// Squash the migration chain into one initial migration per module, proven equivalent.
        cmd squash {
            /// The migrations folder (default: migrations/).
            optional --migrations dir: PathBuf
            /// Print the plan and the files it would write; change nothing.
            optional --dry-run
            /// Exit non-zero if squash would change the folder.
            optional --check
            /// Proceed even if the folder has uncommitted changes.
            optional --allow-dirty
            /// Write the report as JSON to this file.
            optional --json path: PathBuf
        }
        /// Bring a chain written for another tool (sqlx, diesel, golang-migrate, goose, dbmate,
        /// flyway, prisma) into a new migrations folder, with the record `sdm migrate` adopts a
        /// database that tool migrated from.
        cmd import {
            /// The tool's migrations folder.
            required folder: PathBuf
            /// The tool that wrote it (default: detected from the folder's layout).
            optional --from tool: String
            /// `module=pattern`: a table prefix (`users_`) or a name pattern (`users_*`); repeatable,
            /// first match wins (default: one module, `main`).
            repeated --module mapping: String
            /// The folder to write (default: migrations/); it must be empty or missing.
            optional --into dir: PathBuf
            /// Replace the folder even if it holds files.
            optional --force
        }
        /// Write the LangGraph set-up steps our migrations lack (those of the library pinned in
        /// python/requirements.txt) as new migrations, and regenerate the reference schema.
        cmd langgraph {
            /// Fail, naming the missing steps, if the migrations are behind or the reference stale.
            optional --check
        }
        /// Lint the migrations added since the last squash with squawk (.squawk.toml), and the
        /// CI workflow with actionlint; installs both (pinned in tools/) when missing.
        cmd lint {}
        /// Run sdm on the workspace's own database (`sdm` on the ephemeral cluster, or
        /// DATABASE_URL's), migrated first; its data stays in target/sdm-pg/ between runs.
        /// Takes sdm's arguments as they are: `cargo xtask sdm user create --email ann@example.com`.
        cmd sdm {
            /// sdm's command and flags (see `cargo xtask sdm --help`).
            repeated args: OsString
        }
        /// The workspace's ephemeral Postgres cluster (target/sdm-pg/).
        cmd db {
            /// Stop the cluster's server if no process uses it (say, one a killed run left).
            cmd stop {
                /// Stop it even while processes use it.
                optional --force
            }
        }
        /// Print benchmark figures (medians) and a line per target, met or missed: per-test
        /// databases (1.2x a bare clone), squash (4x a replay, linear), the squashed set (1.5x
        /// a pg_restore) and squash's data step (2 ms a table on 500 tables).
        cmd bench {
            /// Skip the squash benchmarks.
            optional --no-squash
            /// Only squash's data step on 500 tables.
            optional --data-step
            /// Exit non-zero when a target is missed (by default only the summary says so).
            optional --strict
            /// Samples per figure, of which the median is printed (default 3).
            optional --samples n: usize
        }
    }
}

/// Parses the process arguments (`--flag=value` is split into `--flag value`); for `--help`,
/// prints the help of the command asked about on stdout and returns `None`.
pub fn parse() -> anyhow::Result<Option<Xtask>> {
    let mut raw = std::env::args_os().skip(1);
    if let Some(first) = raw.next() {
        // `sdm`'s arguments go to sdm untouched, its `--help` and flags included.
        if first == "sdm" {
            return Ok(Some(Xtask { subcommand: XtaskCmd::Sdm(Sdm { args: raw.collect() }) }));
        }
    }
    let args = split_equals(std::env::args_os().skip(1));
    match Xtask::from_vec(args.clone()) {
        Ok(flags) => Ok(Some(flags)),
        Err(e) if e.is_help() => {
            print!("{}", app::help::for_command(&e.to_string(), &args));
            Ok(None)
        }
        Err(e) => anyhow::bail!("{}", app::help::explain(Xtask::HELP_, &args, &e.to_string(), "cargo xtask")),
    }
}

fn split_equals(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    for arg in args {
        match arg.to_str().and_then(|s| s.strip_prefix("--")).and_then(|s| s.split_once('=')) {
            Some((flag, value)) => {
                out.push(format!("--{flag}").into());
                out.push(value.into());
            }
            None => out.push(arg),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_flag_equals_value() {
        let args = ["reset", "--yes=sdm", "--dry-run"].map(std::ffi::OsString::from);
        let got = super::split_equals(args.into_iter());
        assert_eq!(got, ["reset", "--yes", "sdm", "--dry-run"].map(std::ffi::OsString::from));
    }
}
