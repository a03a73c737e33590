//! `cargo xtask --help` and each command's `--help`: on stdout, exit 0, the command's own help.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap_or_else(|e| panic!("run xtask: {e}"))
}

fn help(args: &[&str]) -> String {
    let out = xtask(args);
    assert_eq!(out.status.code(), Some(0), "xtask {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "xtask {args:?} wrote to stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_is_on_stdout_and_each_command_shows_only_its_own() {
    let all = help(&["--help"]);
    for command in ["xtask verify", "xtask squash", "xtask lint", "xtask sdm", "xtask db stop", "xtask bench"] {
        assert!(all.contains(command), "{command} is listed: {all}");
    }
    let verify = help(&["verify", "--help"]);
    assert!(verify.starts_with("xtask verify\n") && verify.contains("--json <path>"), "{verify}");
    assert!(!verify.contains("xtask squash") && !verify.contains("--allow-dirty"), "{verify}");
    assert_eq!(help(&["reset", "--yes=sdm", "-h"]), help(&["reset", "--help"]));
    let db = help(&["db", "--help"]);
    assert!(db.contains("xtask db stop") && db.contains("--force") && !db.contains("xtask verify"), "{db}");
}

#[test]
fn a_wrong_flag_is_an_error_that_points_at_help() {
    let out = xtask(&["verify", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "error: unexpected flag: `--no-such-flag` (see `cargo xtask verify --help`)");
}

#[test]
fn a_typo_gets_the_nearest_command_or_flag() {
    let stderr = |args: &[&str]| String::from_utf8_lossy(&xtask(args).stderr).trim().to_string();
    assert_eq!(
        stderr(&["sqash"]),
        "error: unexpected argument: \"sqash\"; did you mean `cargo xtask squash`? (see `cargo xtask --help`)"
    );
    assert_eq!(
        stderr(&["squash", "--dry-rn"]),
        "error: unexpected flag: `--dry-rn`; did you mean `--dry-run`? (see `cargo xtask squash --help`)"
    );
}
