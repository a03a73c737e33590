//! `cargo xtask`: the SDM workspace's automation (reset, migrate, status, fixtures, lock, verify, squash,
//! import, langgraph, lint, sdm, db, bench).

#[cfg(test)]
mod architecture;
mod bench;
mod database;
mod db;
mod fixtures;
mod flags;
mod import;
mod langgraph;
mod lint;
mod lock;
mod machine;
mod reset;
mod sdm;
mod squash;
mod suite;
#[cfg(test)]
mod tidy;
mod verify;

use std::path::{Path, PathBuf};

use xshell::Shell;

fn main() {
    if let Err(e) = run() {
        if devdb::interrupted() {
            // The signal handler stops the local Postgres and ends the process with 130.
            eprintln!(
                "error: interrupted (Ctrl-C or SIGTERM), which stops the local Postgres; what was running \
                 then stopped with: {e:#}"
            );
        } else {
            eprintln!("error: {e:#}");
        }
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let Some(flags) = flags::parse()? else { return Ok(()) };
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match flags.subcommand {
        flags::XtaskCmd::Reset(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Migrate(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Status(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Fixtures(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Lock(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Verify(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Squash(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Import(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Langgraph(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Lint(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Sdm(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Db(cmd) => cmd.run(&sh),
        flags::XtaskCmd::Bench(cmd) => cmd.run(&sh),
    }
}

/// Returns the workspace root (the parent of this crate's folder).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// Returns the interpreter the machine's `python3` runs, asked once per process: a version
/// manager's `python3` is a shell script (pyenv's costs about 50 ms of CPU a call) that ends in
/// this same interpreter. `python3` itself when it cannot say, so that running it names the problem.
fn python3() -> &'static Path {
    static PYTHON3: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON3.get_or_init(|| {
        std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
            .filter(|exe| exe.is_file())
            .unwrap_or_else(|| PathBuf::from("python3"))
    })
}

/// Returns the folder of the chain the tests own (`migrations/`, `fixtures/`, `.squawk.toml`): the
/// SDM platform's pre-launch chain as it stood before its first squash. The workspace's own
/// `migrations/` change with every squash and migration, so no test asserts on them.
#[cfg(test)]
fn test_chain() -> PathBuf {
    project_root().join("test_data/chains/sdm")
}
