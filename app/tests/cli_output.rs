//! How `sdm` talks to people and scripts: `--help` on stdout with exit 0, each command's own;
//! with `--json`, errors as one JSON object on stdout and a non-zero exit.

use std::process::{Command, Output};

use serde_json::Value;

fn sdm(args: &[&str], url: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sdm"));
    cmd.args(args).env_remove("DATABASE_URL");
    if let Some(url) = url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.output().unwrap_or_else(|e| panic!("run sdm {args:?}: {e}"))
}

fn help(args: &[&str]) -> String {
    let out = sdm(args, None);
    assert_eq!(out.status.code(), Some(0), "sdm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "sdm {args:?} wrote to stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_goes_to_stdout_and_each_command_shows_its_own() {
    let all = help(&["--help"]);
    assert!(all.starts_with("sdm\n") && all.contains("sdm user create") && all.contains("sdm chat"), "{all}");

    let create = help(&["user", "create", "--help"]);
    assert!(create.starts_with("sdm user create\n") && create.contains("--email <email>"), "{create}");
    assert!(!create.contains("sdm chat") && !create.contains("sdm user delete"), "{create}");
    assert!(create.contains("--json"), "a command's help names the flags every command takes: {create}");

    assert_eq!(create, help(&["user", "create", "--email", "a@example.org", "-h"]), "flags before -h are skipped");
    let user = help(&["user", "--help"]);
    assert!(user.contains("sdm user create") && user.contains("sdm user delete") && !user.contains("sdm chat"));
    assert!(help(&["conversation", "delete", "--help"]).starts_with("sdm conversation remove | delete\n"));
}

fn json_error(args: &[&str], url: Option<&str>) -> String {
    let out = sdm(args, url);
    assert_eq!(out.status.code(), Some(1), "sdm {args:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("sdm {args:?}: not JSON ({e}): {stdout}"));
    assert_eq!(value.as_object().map(|o| o.len()), Some(1), "{value}");
    value["error"].as_str().unwrap_or_else(|| panic!("no error string: {value}")).to_string()
}

#[test]
fn json_mode_reports_errors_as_json_on_stdout() {
    let error = json_error(&["--json", "journey", "list"], None);
    assert_eq!(error, "no database: set DATABASE_URL or pass --database-url");
    let error = json_error(&["journey", "lst", "--json"], None);
    assert_eq!(error, "unexpected argument: \"lst\"; did you mean `sdm journey list`? (see `sdm journey --help`)");
    let error = json_error(&["--json", "journey", "list"], Some("postgresql://ann:hunter2@%2Fnonexistent/sdm"));
    assert!(error.contains("cannot connect") && !error.contains("hunter2"), "{error}");

    let db = devdb::test_database();
    let error = json_error(&["--json", "chat", "--conversation", "999999", "hello"], Some(db.url()));
    assert!(error.contains("999999"), "names the missing conversation: {error}");

    // Without --json the same error is a line on stderr, and stdout stays empty.
    let out = sdm(&["journey", "list"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: no database"));
}
