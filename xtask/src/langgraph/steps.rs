//! The two sets of LangGraph set-up steps (checkpointer, store): which ones our migrations record,
//! which the library has beyond them, and the migration that applies those.

use std::ops::Range;

use anyhow::{bail, Context};
use migrator::migrations::{MigrationFile, MigrationSet, KEEP_MARKER};

use super::library::Library;

/// One of the library's two `setup()`s and the migrations that stand in for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    /// What reports call it: `checkpointer` or `store`.
    pub name: &'static str,
    /// The Python class whose `setup()` runs the steps.
    pub class: &'static str,
    /// The table in which `setup()` records the steps it ran.
    pub table: &'static str,
    /// The module folder its migrations go into.
    pub module: &'static str,
    /// SQL `setup()` runs before the steps (the store creates its table of steps outside them).
    pub prologue: Option<&'static str>,
}

/// The checkpointer: `PostgresSaver.setup()`, whose step 0 creates `checkpoint_migrations`.
pub const CHECKPOINTER: Side = Side {
    name: "checkpointer",
    class: "PostgresSaver",
    table: "checkpoint_migrations",
    module: "llmchat",
    prologue: None,
};

/// The store: `PostgresStore.setup()`, which creates `store_migrations` before its steps.
pub const STORE: Side = Side {
    name: "store",
    class: "PostgresStore",
    table: "store_migrations",
    module: "memory",
    prologue: Some("CREATE TABLE IF NOT EXISTS store_migrations (\n    v INTEGER PRIMARY KEY\n);"),
};

/// Both sides, in the order their migrations are written.
pub const SIDES: [Side; 2] = [CHECKPOINTER, STORE];

impl Side {
    /// Returns the library's steps for this side.
    pub fn steps<'a>(&self, library: &'a Library) -> &'a [String] {
        if *self == CHECKPOINTER {
            &library.checkpointer
        } else {
            &library.store
        }
    }

    /// Reads the steps recorded in this side's table (none when it does not exist).
    pub fn recorded(&self, client: &mut postgres::Client) -> anyhow::Result<Vec<i32>> {
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&format!("public.{}", self.table)])
            .with_context(|| format!("look for table {}", self.table))?
            .get(0);
        if !exists {
            return Ok(Vec::new());
        }
        let rows = client
            .query(&format!("SELECT v FROM public.{} ORDER BY v", self.table), &[])
            .with_context(|| format!("read {}", self.table))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Returns the library's steps that `recorded` lacks: every step after the last recorded
    /// one, as `setup()` would run them. Fails when `recorded` could not have come from the
    /// library: a gap (`setup()` would never run the missing step) or a step it does not have.
    pub fn missing(&self, recorded: &[i32], library: &Library) -> anyhow::Result<Range<usize>> {
        let count = self.steps(library).len();
        let Some(&last) = recorded.last() else { return Ok(0..count) };
        let expected: Vec<i32> = (0..=last).collect();
        if recorded != expected {
            let gaps: Vec<String> = expected.iter().filter(|v| !recorded.contains(v)).map(|v| v.to_string()).collect();
            bail!(
                "{} records {} steps {}, without step {}: {}.setup() runs only the steps after the last one \
                 recorded, so it would never apply the missing ones; fix the migration that records them",
                self.table,
                self.name,
                list(recorded.iter().map(|&v| v as usize)),
                gaps.join(", "),
                self.class,
            );
        }
        let next = last as usize + 1;
        if next > count {
            bail!(
                "our migrations record {} steps v0..v{last}, but {} {} has only v0..v{}: pin a release at \
                 least as new in python/requirements.txt (applied steps cannot be taken back)",
                self.name,
                super::library::PACKAGE,
                library.version(),
                count as isize - 1,
            );
        }
        Ok(next..count)
    }

    /// Returns the new migration applying steps `missing` of `library` as version `version`, in
    /// this side's module folder of `migrations_dir` (or in the folder itself when `flat`).
    pub fn migration(
        &self,
        library: &Library,
        missing: Range<usize>,
        version: i32,
        migrations_dir: &std::path::Path,
        flat: bool,
    ) -> MigrationFile {
        let last = missing.end - 1;
        let name = if missing.start == 0 {
            format!("setup_langgraph_{}", self.name)
        } else {
            format!("upgrade_langgraph_{}_to_v{last}", self.name)
        };
        let file_name = format!("V{version}__{name}.sql");
        let module = (!flat).then(|| self.module.to_string());
        let path = migrations_dir.join(module.as_deref().unwrap_or_default()).join(&file_name);
        let sql = self.migration_sql(library, missing);
        MigrationFile { version, name, module, path, sql, keep: true }
    }

    /// Writes the SQL of the migration applying steps `missing`, each as the library has it but
    /// for `CONCURRENTLY`, then recording them.
    fn migration_sql(&self, library: &Library, missing: Range<usize>) -> String {
        let (first, last) = (missing.start, missing.end - 1);
        let steps = if first == last { format!("step v{first}") } else { format!("steps v{first}..v{last}") };
        let verb = if first == 0 { "Sets up" } else { "Upgrades" };
        let mut sql = format!(
            "-- {verb} the LangGraph {name} tables: {steps} of {class}.setup() in\n\
             -- {package} {version}.\n\
             {KEEP_MARKER}\n\
             --\n\
             -- Written by `cargo xtask langgraph` from the library's {class}.MIGRATIONS; never edit it\n\
             -- once applied: a newer library's steps go into a new migration.\n\
             -- {table} records exactly the steps applied here, so a later Python setup() runs\n\
             -- only the steps after them.\n",
            name = self.name,
            package = super::library::PACKAGE,
            version = library.version(),
            class = self.class,
            table = self.table,
        );
        let mut made_plain = false;
        let mut body = String::new();
        for v in missing {
            let written = dedent(&self.steps(library)[v]);
            let step = without_concurrently(&written);
            made_plain |= step != written;
            let end = if step.trim_end().ends_with(';') { "" } else { ";" };
            body.push_str(&format!("\n-- v{v}\n{step}{end}\n"));
        }
        if made_plain {
            sql.push_str(
                "-- The library builds indexes CONCURRENTLY, which cannot run inside a migration's transaction; a\n\
                 -- plain CREATE INDEX leaves the same schema.\n",
            );
        }
        if let (Some(prologue), 0) = (self.prologue, first) {
            sql.push_str(&format!("\n-- setup() creates {} before the steps.\n{prologue}\n", self.table));
        }
        sql.push_str(&body);
        sql.push_str(&format!(
            "\nINSERT INTO {table} (v)\nSELECT v FROM generate_series({first}, {last}) AS v\nON CONFLICT (v) DO NOTHING;\n",
            table = self.table
        ));
        sql
    }
}

/// Returns the next free migration version of `set`.
pub fn next_version(set: &MigrationSet) -> i32 {
    set.files.last().map_or(1, |f| f.version + 1)
}

/// Writes `v0..v9`, or `v3` for one step, or `none`.
pub fn list(steps: impl Iterator<Item = usize>) -> String {
    let steps: Vec<usize> = steps.collect();
    match steps.as_slice() {
        [] => "none".to_string(),
        [one] => format!("v{one}"),
        [first, .., last] if last - first + 1 == steps.len() => format!("v{first}..v{last}"),
        _ => steps.iter().map(|v| format!("v{v}")).collect::<Vec<_>>().join(", "),
    }
}

/// Drops blank lines around `sql` and the indent all its lines share.
fn dedent(sql: &str) -> String {
    let lines: Vec<&str> = sql.lines().skip_while(|l| l.trim().is_empty()).collect();
    let end = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(0, |i| i + 1);
    let lines = &lines[..end];
    let indent = lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min();
    let indent = indent.unwrap_or(0);
    lines.iter().map(|l| l.get(indent..).unwrap_or("").trim_end()).collect::<Vec<_>>().join("\n")
}

/// Removes `CONCURRENTLY` after `INDEX` (`CREATE [UNIQUE] INDEX CONCURRENTLY`, `DROP INDEX
/// CONCURRENTLY`): the rest of the statement builds the same index inside a transaction.
fn without_concurrently(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut previous_word = String::new();
    let mut rest = sql;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic()) {
        let len = rest[start..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len() - start);
        let word = &rest[start..start + len];
        if word.eq_ignore_ascii_case("CONCURRENTLY") && previous_word.eq_ignore_ascii_case("INDEX") {
            // Keep what came before the word, drop the word and the space after it.
            out.push_str(rest[..start].trim_end());
            rest = rest[start + len..].trim_start_matches([' ', '\t']);
            if !rest.is_empty() && !rest.starts_with(['\n', ';']) {
                out.push(' ');
            }
        } else {
            out.push_str(&rest[..start + len]);
            rest = &rest[start + len..];
        }
        previous_word = word.to_string();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrently_goes_from_index_statements_only() {
        let sql = "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON a(x);\n\
                   create unique index concurrently b_idx on b (y);\nDROP INDEX CONCURRENTLY c_idx;\n\
                   REFRESH MATERIALIZED VIEW CONCURRENTLY m;";
        assert_eq!(
            without_concurrently(sql),
            "CREATE INDEX IF NOT EXISTS a_idx ON a(x);\ncreate unique index b_idx on b (y);\nDROP INDEX c_idx;\n\
             REFRESH MATERIALIZED VIEW CONCURRENTLY m;"
        );
    }

    #[test]
    fn dedent_drops_the_shared_indent_and_blank_edges() {
        let step = "\n    CREATE INDEX x ON t(a);\n      -- deeper\n    ";
        assert_eq!(dedent(step), "CREATE INDEX x ON t(a);\n  -- deeper");
        assert_eq!(dedent("SELECT 1;"), "SELECT 1;");
    }

    #[test]
    fn lists_ranges_single_steps_and_gaps() {
        assert_eq!(list(0..10), "v0..v9");
        assert_eq!(list(9..10), "v9");
        assert_eq!(list(0..0), "none");
        assert_eq!(list([0, 1, 3].into_iter()), "v0, v1, v3");
    }
}
