//! `cargo xtask langgraph`: the LangGraph set-up migrations follow the library pinned in
//! `python/requirements.txt`, and the reference schema is what that library creates.
//!
//! The library's checkpointer and store `setup()`s each run a list of steps and record the ones
//! they ran (`checkpoint_migrations`, `store_migrations`); a later `setup()` runs only the steps
//! after the last recorded one. Our migrations stand in for both: this command compares the
//! installed library's lists with what our migrations record on a fresh database, writes the
//! steps they lack as one new migration per side (kept across squashes), proves the result on a
//! scratch database, and regenerates `xtask/test_data/langgraph-schema.sql`.

mod library;
mod steps;
#[cfg(test)]
mod tests;
mod worker;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use app::langgraph::LANGGRAPH_TABLES;
use devdb::{Schema, Server};
use migrator::migrations::{MigrationFile, MigrationSet};
use xshell::Shell;

pub use library::Python;
use library::{Library, Recorded, PACKAGE};
use steps::{list, Side, SIDES};

use crate::flags;

/// What to run when something is behind.
const FIX: &str = "Run `cargo xtask langgraph` and commit the result.";

impl flags::Langgraph {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let tree = Tree::at(sh.current_dir());
        let python = Python::workspace(sh, &tree.root)?;
        let server = crate::database::server()?;
        let started = std::time::Instant::now();
        let mut lines = Vec::new();
        let result = if self.check {
            check(&python, &server, &tree, &mut lines)
        } else {
            update(&python, &server, &tree, &mut lines)
        };
        for line in lines {
            println!("{line}");
        }
        result?;
        eprintln!("langgraph: done in {:.1}s", started.elapsed().as_secs_f64());
        Ok(())
    }
}

/// Runs `cargo xtask langgraph --check` as a step of `verify`, on `server`, with the workspace's venv.
pub fn verify(sh: &Shell, server: &Server) -> anyhow::Result<()> {
    let tree = Tree::at(sh.current_dir());
    let python = Python::workspace(sh, &tree.root)?;
    let mut lines = Vec::new();
    let result = check(&python, server, &tree, &mut lines);
    for line in lines {
        eprintln!("    {}", line.trim_start());
    }
    result
}

/// A workspace (or a copy of one): its migrations, pins and reference schema.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The workspace root.
    pub root: PathBuf,
}

impl Tree {
    /// Returns the tree rooted at `root`.
    pub fn at(root: PathBuf) -> Tree {
        Tree { root }
    }

    /// Returns the migrations folder.
    pub fn migrations(&self) -> PathBuf {
        self.root.join("migrations")
    }

    /// Returns the requirements file that pins the library.
    pub fn requirements(&self) -> PathBuf {
        self.root.join("python/requirements.txt")
    }

    /// Returns the reference schema: what the pinned library's `setup()`s create.
    pub fn reference(&self) -> PathBuf {
        self.root.join("xtask/test_data/langgraph-schema.sql")
    }

    /// Returns `path` relative to the root, for messages.
    fn show<'a>(&self, path: &'a Path) -> std::path::Display<'a> {
        path.strip_prefix(&self.root).unwrap_or(path).display()
    }
}

/// The library's steps beside those our migrations record on a fresh database.
struct Comparison {
    library: Library,
    set: MigrationSet,
    sides: Vec<(Side, Vec<i32>, std::ops::Range<usize>)>,
    /// Whether the committed reference schema is what the library creates.
    reference_fresh: bool,
    /// The committed reference schema (`None` when the file is missing).
    reference: Option<String>,
    /// The LangGraph tables our migrations make, when they record every step.
    ours: Option<Schema>,
}

/// Reads the library, migrates a scratch database with the tree's migrations and compares.
fn compare(python: &Python, server: &Server, tree: &Tree) -> anyhow::Result<Comparison> {
    let library = python.describe(server).context("read the LangGraph library's set-up steps")?;
    let set = crate::database::migrations_in(&tree.migrations())?;
    let db = server.test_database(Some(&set)).context("migrate a scratch database")?;
    let mut client = db.try_connect()?;
    let mut sides = Vec::new();
    for side in SIDES {
        let recorded = side.recorded(&mut client)?;
        let missing = side.missing(&recorded, &library)?;
        sides.push((side, recorded, missing));
    }
    // With every step recorded the tables exist (pg_dump fails when none of them do).
    let complete = sides.iter().all(|(_, _, missing)| missing.is_empty());
    let ours = if complete { Some(Schema::dump(server, db.name(), &LANGGRAPH_TABLES)?) } else { None };
    let reference = match std::fs::read_to_string(tree.reference()) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("read {}", tree.reference().display())),
    };
    let reference_fresh =
        reference.as_deref().is_some_and(|text| Schema::parse(text) == Schema::parse(&library.reference));
    Ok(Comparison { library, set, sides, reference_fresh, reference, ours })
}

impl Comparison {
    /// Returns what was compared, one line per side and one for the store's vector steps.
    fn summary(&self, tree: &Tree) -> Vec<String> {
        let mut lines = vec![format!("{PACKAGE} {} ({})", self.library.version(), tree.show(&tree.requirements()))];
        for (side, recorded, missing) in &self.sides {
            let state = if missing.is_empty() {
                "up to date".to_string()
            } else {
                format!("missing {}", list(missing.clone()))
            };
            lines.push(format!(
                "  {}: the library has steps {}; our migrations record {}; {state}",
                side.name,
                list(0..side.steps(&self.library).len()),
                list(recorded.iter().map(|&v| v as usize)),
            ));
        }
        if !self.library.vector.is_empty() {
            let params: std::collections::BTreeSet<&str> =
                self.library.vector.iter().flat_map(|s| s.params.iter().map(String::as_str)).collect();
            lines.push(format!(
                "  store vector steps {} skipped: PostgresStore.setup() runs them only with an index config \
                 (PostgresStore(index=...), filling in {}) and they need the pgvector extension; the app \
                 configures no vector index",
                list(0..self.library.vector.len()),
                params.into_iter().collect::<Vec<_>>().join(", "),
            ));
        }
        lines
    }
}

/// Fails when the tree's migrations lack steps the pinned library has, or its reference schema
/// is stale; adds what it compared to `lines` either way.
pub fn check(python: &Python, server: &Server, tree: &Tree, lines: &mut Vec<String>) -> anyhow::Result<()> {
    let comparison = compare(python, server, tree)?;
    lines.extend(comparison.summary(tree));
    let mut problems = Vec::new();
    for (side, recorded, missing) in &comparison.sides {
        if !missing.is_empty() {
            let steps: Vec<String> = missing.clone().map(|v| v.to_string()).collect();
            let noun = if steps.len() == 1 { "step" } else { "steps" };
            let verb = if steps.len() == 1 { "is" } else { "are" };
            problems.push(format!(
                "the migrations are behind {PACKAGE} {}: {} {noun} {} {verb} missing (they record {}, the library \
                 has {})",
                comparison.library.version(),
                side.name,
                steps.join(", "),
                list(recorded.iter().map(|&v| v as usize)),
                list(0..side.steps(&comparison.library).len()),
            ));
        }
    }
    match &comparison.reference {
        _ if comparison.reference_fresh => {}
        None => problems.push(format!("{} is missing", tree.show(&tree.reference()))),
        Some(committed) => {
            let diff = Schema::parse(committed).diff(&Schema::parse(&comparison.library.reference)).unwrap_or_default();
            let shown: String = diff.lines().take(40).map(|l| format!("  {l}\n")).collect();
            problems.push(format!(
                "{} is stale: it is not what {PACKAGE} {} creates (- committed, + the library's):\n{}",
                tree.show(&tree.reference()),
                comparison.library.version(),
                shown.trim_end()
            ));
        }
    }
    if let (true, Some(ours)) = (problems.is_empty(), &comparison.ours) {
        same_as_library(ours, &comparison)?;
    }
    if !problems.is_empty() {
        bail!("{}\n{FIX}", problems.join("\n"));
    }
    lines.push(format!("langgraph: the migrations follow {PACKAGE} {}", comparison.library.version()));
    Ok(())
}

/// Writes the steps the tree's migrations lack as one new migration per side, proves them on a
/// scratch database, and regenerates the reference schema; adds what it did to `lines`.
/// Nothing is written unless the proof passes.
pub fn update(python: &Python, server: &Server, tree: &Tree, lines: &mut Vec<String>) -> anyhow::Result<()> {
    let comparison = compare(python, server, tree)?;
    lines.extend(comparison.summary(tree));
    let mut candidate = comparison.set.clone();
    let mut new_files: Vec<(Side, String, MigrationFile)> = Vec::new();
    for (side, _, missing) in &comparison.sides {
        if !missing.is_empty() {
            let version = steps::next_version(&candidate);
            let flat = comparison.set.files.iter().all(|f| f.module.is_none());
            let file = side.migration(&comparison.library, missing.clone(), version, &tree.migrations(), flat);
            candidate.files.push(file.clone());
            new_files.push((*side, list(missing.clone()), file));
        }
    }
    prove(python, server, &candidate, &comparison)
        .context("the migrations do not give the library's tables; nothing was written")?;
    lines.push(format!(
        "proved on a scratch database: the migrations record {}, the LangGraph tables are the library's, and \
         Python's setup() changes nothing",
        SIDES.map(|s| format!("{} {}", s.name, list(0..s.steps(&comparison.library).len()))).join(" and ")
    ));
    for (side, steps, file) in &new_files {
        write_file(&file.path, &file.sql)?;
        lines.push(format!("wrote {} ({} {steps})", tree.show(&file.path), side.name));
    }
    if !new_files.is_empty() {
        // The lock file records the new migrations and the schema they give.
        let set = crate::database::migrations_in(&tree.migrations())?;
        let schema = crate::lock::fresh_schema(server, &set)?;
        lines.push(crate::lock::write(&tree.migrations(), &set, schema, None)?);
    }
    if comparison.reference_fresh {
        lines.push(format!("{} is up to date", tree.show(&tree.reference())));
    } else {
        let path = tree.reference();
        write_file(&path, &comparison.library.reference)?;
        lines.push(format!("wrote {}", tree.show(&path)));
    }
    if new_files.is_empty() && comparison.reference_fresh {
        lines.push(format!(
            "langgraph: the migrations follow {PACKAGE} {}; nothing to do",
            comparison.library.version()
        ));
    }
    Ok(())
}

/// Writes `text` to `path` through a rename, making its folder first.
fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    crate::fixtures::write_atomically(path, text)
}

/// Migrates a scratch database with `set` and checks it is what the library's `setup()`s make:
/// every step recorded, the same tables, and a Python `setup()` that then changes nothing.
fn prove(python: &Python, server: &Server, set: &MigrationSet, comparison: &Comparison) -> anyhow::Result<()> {
    let db = server.test_database(Some(set)).context("migrate a scratch database with the new migrations")?;
    let mut client = db.try_connect()?;
    let library = &comparison.library;
    let recorded = Recorded {
        checkpoint_migrations: steps::CHECKPOINTER.recorded(&mut client)?,
        store_migrations: steps::STORE.recorded(&mut client)?,
    };
    let expected = Recorded {
        checkpoint_migrations: (0..library.checkpointer.len() as i32).collect(),
        store_migrations: (0..library.store.len() as i32).collect(),
    };
    if recorded != expected {
        bail!("the migrations record {recorded:?}, the library has {expected:?}");
    }
    same_tables(server, db.name(), comparison)?;
    let before = Schema::dump(server, db.name(), &[])?;
    let after_setup = python.setup(server, db.url())?;
    if after_setup != recorded {
        bail!("Python's setup() ran more steps: before it {recorded:?}, after it {after_setup:?}");
    }
    if let Some(diff) = before.diff(&Schema::dump(server, db.name(), &[])?) {
        bail!("Python's setup() changed the schema (- before, + after):\n{diff}");
    }
    Ok(())
}

/// Fails unless the LangGraph tables of database `db` are those the library creates.
fn same_tables(server: &Server, db: &str, comparison: &Comparison) -> anyhow::Result<()> {
    same_as_library(&Schema::dump(server, db, &LANGGRAPH_TABLES)?, comparison)
}

/// Fails unless `ours`, the LangGraph tables our migrations make, are those the library creates.
fn same_as_library(ours: &Schema, comparison: &Comparison) -> anyhow::Result<()> {
    if let Some(diff) = Schema::parse(&comparison.library.reference).diff(ours) {
        bail!(
            "the LangGraph tables our migrations create differ from what {PACKAGE} {} creates, although they \
             record every step (a migration does not do what its step does, or the library changed a step): \
             write a migration that makes them equal (- the library's, + ours):\n{diff}",
            comparison.library.version()
        );
    }
    Ok(())
}
