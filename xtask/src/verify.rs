//! `cargo xtask verify`: the CI gate. Each step prints its time; the first failure stops the run.

use anyhow::{bail, ensure, Context};
use devdb::{Schema, Server, TestDatabase};
use migrator::migrations::MigrationSet;
use serde::Serialize;
use xshell::{cmd, Shell};

use crate::database::migrations_in;
use crate::flags;
use ::squash::steps::{StepRow, Steps};

/// The step that runs `cargo xtask langgraph --check`.
const LANGGRAPH_STEPS: &str = "LangGraph set-up migrations follow the pinned library (cargo xtask langgraph --check)";

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    seconds: f64,
    steps: &'a [StepRow<&'static str>],
}

impl flags::Verify {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut steps = Steps::new(|name| format!("verify: {name}"));
        let result = self.run_steps(sh, &mut steps);
        let report = Report { ok: result.is_ok(), seconds: steps.elapsed().as_secs_f64(), steps: steps.rows() };
        if let Some(path) = &self.json {
            std::fs::write(path, serde_json::to_string_pretty(&report)?)
                .with_context(|| format!("write {}", path.display()))?;
        }
        match &result {
            Ok(()) => eprintln!("verify: all {} steps passed in {:.1}s", report.steps.len(), report.seconds),
            Err(_) => eprintln!("verify: FAILED after {:.1}s", report.seconds),
        }
        result
    }

    fn run_steps(&self, sh: &Shell, steps: &mut Steps<&'static str>) -> anyhow::Result<()> {
        let root = sh.current_dir();
        // First, so that an unreachable DATABASE_URL fails at once, not after the lints.
        let server = steps.run("start database server", || {
            // The tests' cluster: in memory when the machine has room (devdb::test_cluster_dir).
            let server = Server::for_tests().context("open database server")?;
            drop(server.connect()?);
            Ok(server)
        })?;
        steps.run("cargo clippy (warnings denied), and cargo fmt --check beside it", || lints(sh))?;
        let set = steps.run("migrations folder is valid", || {
            let set = migrations_in(&root.join("migrations"))?;
            app::migrations::check_modules(&set)?;
            eprintln!("    {} migrations", set.files.len());
            Ok(set)
        })?;
        crate::lint::verify_steps(sh, steps)?;
        let db = server.test_database(None)?;
        steps.run("fresh database: migrate, all applied, second migrate applies nothing", || {
            fresh_database(&db, &set)
        })?;
        steps.run("migrations match migrations.lock.json (checksums, expected schema)", || {
            crate::lock::check(&set, &migrator::schema::Snapshot::read(&mut migrator::db::connect(db.url())?)?)
        })?;
        steps.run("fixtures are in sync", || crate::fixtures::check(&root, &mut migrator::db::connect(db.url())?))?;
        steps.run("LangGraph tables match the Python library's schema", || langgraph_schema(sh, &server, db.name()))?;
        if !self.skip_python {
            steps.run("python venv with the LangGraph library (python/requirements.txt)", || {
                crate::langgraph::Python::venv(sh, &root.join("python/requirements.txt"), &root.join(".venv")).map(drop)
            })?;
        }
        if self.skip_python {
            eprintln!("==> {LANGGRAPH_STEPS}: skipped (--skip-python)");
        } else {
            steps.run(LANGGRAPH_STEPS, || crate::langgraph::verify(sh, &server))?;
        }
        if !self.skip_js {
            steps.run("node_modules with the LangGraph.js libraries (js/package-lock.json)", || {
                let python3 = crate::python3();
                Ok(cmd!(sh, "{python3} js/setup-node-modules.py").run()?)
            })?;
        }
        let missing = crate::suite::majors_tier_missing();
        match &missing {
            None => eprintln!("==> the Postgres 14 and 18 tier runs with the tests (a group of its own)"),
            Some(reason) => eprintln!("==> the Postgres 14 and 18 tier: skipped ({reason}); its tests show as ignored"),
        }
        let skips = crate::suite::Skips { python: self.skip_python, js: self.skip_js };
        steps
            .run_talking("checklist and all tests", || crate::suite::run(sh, server.url(), skips, missing.is_none()))?;
        Ok(())
    }
}

/// Runs clippy, and rustfmt's check beside it (it takes no build lock and reads only sources):
/// half a second of verify's start, when one core waited. Clippy's output shows as it comes;
/// rustfmt's diff after it, when there is one.
fn lints(sh: &Shell) -> anyhow::Result<()> {
    let mut fmt = std::process::Command::from(cmd!(sh, "cargo fmt --all -- --check"));
    std::thread::scope(|scope| {
        let fmt = scope.spawn(move || fmt.output());
        let clippy = cmd!(sh, "cargo clippy --workspace --all-targets -- -D warnings").run();
        let fmt = fmt.join().map_err(|_| anyhow::anyhow!("the cargo fmt thread panicked"))?.context("run cargo fmt")?;
        eprint!("{}{}", String::from_utf8_lossy(&fmt.stdout), String::from_utf8_lossy(&fmt.stderr));
        clippy?;
        ensure!(
            fmt.status.success(),
            "cargo fmt --check: the code is not formatted as rustfmt.toml says (the diff is above; \
             `cargo fmt` fixes it)"
        );
        Ok(())
    })
}

/// Migrates the new, empty database `db`, checks every migration is applied, and that a rerun is a no-op.
pub fn fresh_database(db: &TestDatabase<'_>, set: &MigrationSet) -> anyhow::Result<()> {
    let mut client = migrator::db::connect(db.url())?;
    let applied = migrator::migrate::migrate(&mut client, set)?;
    let statuses = migrator::migrate::status(&mut client, set)?;
    let unapplied: Vec<String> =
        statuses.iter().filter(|s| s.applied_on.is_none()).map(|s| format!("V{}__{}", s.version, s.name)).collect();
    ensure!(unapplied.is_empty(), "not applied after migrate: {}", unapplied.join(", "));
    ensure!(statuses.len() == set.files.len(), "history has {} rows for {} files", statuses.len(), set.files.len());
    eprintln!("    applied {} migrations", applied.len());
    let again = migrator::migrate::migrate(&mut client, set)?;
    if !again.is_empty() {
        bail!("a second migrate applied {} migration(s) again", again.len());
    }
    Ok(())
}

/// Compares the LangGraph tables of `db` with the reference dump kept in `xtask/test_data/`.
pub fn langgraph_schema(sh: &Shell, server: &Server, db: &str) -> anyhow::Result<()> {
    let reference_path = sh.current_dir().join("xtask/test_data/langgraph-schema.sql");
    let reference =
        std::fs::read_to_string(&reference_path).with_context(|| format!("read {}", reference_path.display()))?;
    let actual = Schema::dump(server, db, &app::langgraph::LANGGRAPH_TABLES)?;
    if let Some(diff) = Schema::parse(&reference).diff(&actual) {
        bail!("the LangGraph tables differ from {} (- reference, + ours):\n{diff}", reference_path.display());
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// Copies the chain the tests own (migrations and fixtures) into a fresh folder the test may break.
    pub(crate) fn scratch_tree(name: &str) -> PathBuf {
        let root = crate::test_chain();
        let dir = std::env::temp_dir().join(format!("sdm-verify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["migrations", "fixtures"] {
            copy_dir(&root.join(sub), &dir.join(sub));
        }
        dir
    }

    /// Copies the folder `from`, everything under it, to `to`.
    pub(crate) fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[test]
    fn verify_fails_on_a_broken_migration_naming_file_and_line() {
        let tree = scratch_tree("broken");
        // The first migration, whatever the history's shape (a chain or a squashed set).
        let first = migrations_in(&tree.join("migrations")).unwrap().files.remove(0);
        let path = tree.join("migrations").join(first.relative_path());
        let broken = format!("-- broken on purpose\nSELECT 1;\nSELECT no_such_column FROM pg_class;\n{}", first.sql);
        std::fs::write(&path, broken).unwrap();

        let set = migrations_in(&tree.join("migrations")).unwrap();
        let server = devdb::test_server();
        let db = server.test_database(None).unwrap();
        let err = format!("{:#}", fresh_database(&db, &set).unwrap_err());
        assert!(err.contains(&format!("{}.sql:3:8", first.label())), "{err}");
        assert!(err.contains("no_such_column"), "{err}");
        std::fs::remove_dir_all(tree).unwrap();
    }

    #[test]
    fn verify_fails_on_a_misnamed_migration() {
        let tree = scratch_tree("misnamed");
        std::fs::write(tree.join("migrations/users/V99_missing_underscore.sql"), "SELECT 1;").unwrap();
        let err = format!("{:#}", migrations_in(&tree.join("migrations")).unwrap_err());
        assert!(err.contains("V99_missing_underscore.sql"), "{err}");
        std::fs::remove_dir_all(tree).unwrap();
    }

    #[test]
    fn verify_fails_on_stale_fixtures_and_names_the_fix() {
        let tree = scratch_tree("stale");
        let set = migrations_in(&tree.join("migrations")).unwrap();
        let db = devdb::test_server().test_database(Some(&set)).unwrap();
        crate::fixtures::check(&tree, &mut db.connect()).expect("the committed fixtures are in sync");
        let fixture = std::fs::read_dir(tree.join("fixtures/journeys")).unwrap().next().unwrap().unwrap().path();
        let text = std::fs::read_to_string(&fixture).unwrap();
        let edited = text.replacen("\"title\": \"", "\"title\": \"Revised: ", 1);
        assert_ne!(text, edited, "fixture {} has a title to edit", fixture.display());
        std::fs::write(&fixture, edited).unwrap();
        let err = format!("{:#}", crate::fixtures::check(&tree, &mut db.connect()).unwrap_err());
        assert!(err.contains("fixtures/journeys/ changed since the migrations last loaded it"), "{err}");
        assert!(err.contains("1 statement(s) would change rows (journey `"), "{err}");
        assert!(err.contains("Run `cargo xtask fixtures`"), "{err}");
        std::fs::remove_dir_all(tree).unwrap();
    }

    #[test]
    fn langgraph_tables_match_the_reference() {
        let server = devdb::test_server();
        let set = migrations_in(&crate::project_root().join("migrations")).unwrap();
        let db = server.test_database(None).unwrap();
        fresh_database(&db, &set).unwrap();
        let sh = Shell::new().unwrap();
        sh.change_dir(crate::project_root());
        langgraph_schema(&sh, server, db.name()).unwrap();
        // The check can fail: a changed column default is reported.
        let mut client = migrator::db::connect(db.url()).unwrap();
        client.batch_execute("ALTER TABLE checkpoints ALTER COLUMN metadata SET DEFAULT '{\"x\":1}'::jsonb").unwrap();
        let err = format!("{:#}", langgraph_schema(&sh, server, db.name()).unwrap_err());
        assert!(err.contains("+    metadata jsonb DEFAULT '{\"x\": 1}'::jsonb NOT NULL"), "{err}");
    }
}
