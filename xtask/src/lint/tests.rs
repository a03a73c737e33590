//! actionlint against the real tool: the workspace's workflow passes, a broken one fails naming
//! the file, line and problem, and a passed workflow is checked again once it changes.

use xshell::Shell;

use super::{tools, workflow, WORKFLOW};

#[test]
fn the_workflow_passes_and_a_broken_one_is_named_by_line() {
    let root = crate::project_root();
    let sh = Shell::new().unwrap();
    sh.change_dir(&root);
    let [_, actionlint] = tools(&sh).unwrap_or_else(|e| panic!("{e:#}"));
    workflow(&sh, &actionlint).unwrap_or_else(|e| panic!("{e:#}"));

    let dir = std::env::temp_dir().join(format!("sdm-actionlint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join(".github/workflows")).unwrap();
    let good = std::fs::read_to_string(root.join(WORKFLOW)).unwrap();
    let broken = good.replacen("if: matrix.key == 'service'", "if: matrix.kee == 'service'", 1);
    assert_ne!(good, broken, "the workflow has the step this test breaks");
    std::fs::write(dir.join(WORKFLOW), &broken).unwrap();
    sh.change_dir(&dir);
    let error = format!("{:#}", workflow(&sh, &actionlint).unwrap_err());
    let line = broken.lines().position(|l| l.contains("matrix.kee")).unwrap() + 1;
    assert!(error.contains(&format!("ci.yml:{line}:")) && error.contains("\"kee\" is not defined"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
