//! `cargo xtask bench`: the figures behind the performance targets, each the median of several
//! samples, and at the end one line per target, met or missed. Machines are noisy, so a miss
//! fails the run only with `--strict`.
//!
//! The targets: a migrated per-test database within 1.2x of a bare clone of the same template
//! made the same way; a squash at most 4x one replay of the chain on the same server, growing
//! linearly with chain length; a fresh database from the squashed set within 1.5x of restoring
//! a `pg_dump` of the same schema, measured in the same run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use devdb::Server;
use migrator::migrations::MigrationSet;
use xshell::Shell;

use crate::flags;
use ::squash::steps::millis;
use ::squash::{squash_dir, synthetic, Options};

impl flags::Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut bench = Bench::new(self.samples.unwrap_or(3));
        if self.data_step {
            let root = bench_root();
            data_step_bench(&crate::database::server()?, &root, &mut bench)?;
            let _ = std::fs::remove_dir_all(&root);
            return bench.summary(self.strict);
        }
        cluster_bench(&mut bench)?;
        if !self.no_squash {
            squash_bench(sh, &mut bench)?;
        }
        bench.summary(self.strict)
    }
}

/// A target: a figure and the most it may be.
struct Target {
    what: String,
    value: f64,
    limit: f64,
    unit: &'static str,
}

impl Target {
    fn met(&self) -> bool {
        self.value <= self.limit
    }
}

/// The run's sampling and the targets measured so far.
pub struct Bench {
    samples: usize,
    targets: Vec<Target>,
}

impl Bench {
    fn new(samples: usize) -> Bench {
        Bench { samples: samples.max(1), targets: Vec::new() }
    }

    /// Runs `sample` the configured number of times and returns the median of what it measured.
    pub fn median(&self, sample: impl FnMut() -> anyhow::Result<Duration>) -> anyhow::Result<Duration> {
        self.median_of(self.samples, sample)
    }

    /// Runs `sample` `n` times and returns the median of what it measured.
    pub fn median_of(
        &self,
        n: usize,
        mut sample: impl FnMut() -> anyhow::Result<Duration>,
    ) -> anyhow::Result<Duration> {
        let mut samples = (0..n.max(1)).map(|_| sample()).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(median(&mut samples))
    }

    /// Returns how many samples each figure takes.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Records target `what`: `value` must be at most `limit` (both in `unit`, as printed).
    pub fn target(&mut self, what: impl Into<String>, value: f64, limit: f64, unit: &'static str) {
        self.targets.push(Target { what: what.into(), value, limit, unit });
    }

    /// Prints one line per target; with `strict`, fails when any was missed.
    fn summary(&self, strict: bool) -> anyhow::Result<()> {
        println!("\ntargets (medians of {} samples; a loaded machine misses what an idle one meets):", self.samples);
        for t in &self.targets {
            let verdict = if t.met() { "met   " } else { "MISSED" };
            let (value, limit, unit) = (t.value, t.limit, t.unit);
            println!("  {verdict} {}: {value:.2}{unit} (target <= {limit:.2}{unit})", t.what);
        }
        let missed = self.targets.iter().filter(|t| !t.met()).count();
        println!("{} of {} targets met", self.targets.len() - missed, self.targets.len());
        if strict && missed > 0 {
            anyhow::bail!("{missed} benchmark target(s) missed (--strict)");
        }
        Ok(())
    }
}

fn cluster_bench(bench: &mut Bench) -> anyhow::Result<()> {
    let root = std::env::temp_dir().join(format!("sdm-pg-bench-{}", std::process::id()));
    println!("ephemeral cluster ({} samples of each figure)", bench.samples());
    let cold = bench.median(|| {
        let _ = std::fs::remove_dir_all(&root);
        let started = Instant::now();
        let server = Server::ephemeral_at(&root)?;
        let cold = started.elapsed();
        drop(server);
        Ok(cold)
    })?;
    println!("  cold start (initdb + start): {:>8.1} ms", millis(cold));
    let warm = bench.median(|| {
        let started = Instant::now();
        let server = Server::ephemeral_at(&root)?;
        let warm = started.elapsed();
        drop(server);
        Ok(warm)
    })?;
    println!("  warm start (start only):     {:>8.1} ms", millis(warm));
    let server = Server::ephemeral_at(&root)?;
    let set = crate::database::migrations()?;
    let mut admin = server.connect()?;
    let build = bench.median(|| {
        if let Some(old) =
            admin.query_opt("SELECT datname::text FROM pg_database WHERE datname LIKE 'sdm\\_tpl\\_%'", &[])?
        {
            let old: String = old.get(0);
            admin.batch_execute(&format!("ALTER DATABASE \"{old}\" IS_TEMPLATE false"))?;
            admin.batch_execute(&format!("DROP DATABASE \"{old}\""))?;
        }
        let started = Instant::now();
        server.template_for(&set)?;
        Ok(started.elapsed())
    })?;
    let template = server.template_for(&set)?;
    println!("  template {template} built ({} migrations + VACUUM FULL): {:.1} ms", set.files.len(), millis(build));

    // Like for like: the harness clones its VACUUM FULL'd template with FILE_COPY; the bare
    // figure is that same clone in plain SQL, so the ratio is what the harness adds.
    let rounds = bench.samples().max(25);
    let mut n = 0;
    let mut bare_clone = |sql_tail: &str| -> anyhow::Result<Duration> {
        n += 1;
        let started = Instant::now();
        admin.batch_execute(&format!("CREATE DATABASE bench_bare_{n} TEMPLATE {sql_tail}"))?;
        let took = started.elapsed();
        admin.batch_execute(&format!("DROP DATABASE bench_bare_{n}"))?;
        Ok(took)
    };
    println!("  measuring {rounds} rounds of clones: bare FILE_COPY, template1, a migrated per-test database");
    let (mut bare, mut template1, mut migrated) = (Vec::new(), Vec::new(), Vec::new());
    // Interleaved, so that a busy moment of the machine falls on all three alike.
    for _ in 0..rounds {
        bare.push(bare_clone(&format!("\"{template}\" STRATEGY FILE_COPY"))?);
        template1.push(bare_clone("template1")?);
        let started = Instant::now();
        let db = server.test_database(Some(&set))?;
        migrated.push(started.elapsed());
        drop(db);
    }
    let (bare, template1, migrated) = (median(&mut bare), median(&mut template1), median(&mut migrated));
    println!(
        "  bare CREATE DATABASE ... TEMPLATE {template} STRATEGY FILE_COPY, median of {rounds}: {:>6.1} ms",
        millis(bare)
    );
    println!(
        "  bare CREATE DATABASE ... TEMPLATE template1 (for scale), median of {rounds}: {:>6.1} ms",
        millis(template1)
    );
    println!(
        "  migrated per-test database (connect, template check, clone), median of {rounds}: {:>5.1} ms",
        millis(migrated)
    );
    bench.target(
        "a migrated per-test database / a bare FILE_COPY clone of the same template",
        migrated.as_secs_f64() / bare.as_secs_f64(),
        1.2,
        "x",
    );
    drop(admin);
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

/// Prints the squash figures for chains of 100, 300 and 1000 migrations (medians of the bench's
/// samples) and records their targets: squash at most 4x one replay of the chain on the same
/// server (the squash's fixed cost, about half a second, counts), growing linearly with the chain, and a fresh database from the squashed set within 1.5x
/// of a `pg_restore` of its schema.
fn squash_bench(sh: &Shell, bench: &mut Bench) -> anyhow::Result<()> {
    let started = Instant::now();
    let server = crate::database::server()?;
    let start = started.elapsed();
    println!("squash benchmark (server ready in {:.0} ms)", millis(start));
    let root = bench_root();
    // A server just started copies its first databases from a cold cache: warm it with one
    // squash of a short chain, left out of the figures.
    println!("  warming the server with one squash of a 20-migration chain (not counted)");
    synthetic::write_chain(&root.join("migrations"), 20)?;
    squash_dir(&server, &root.join("migrations"), &options(&root))?;
    println!(
        "{:>6} {:>10} {:>10} {:>8} {:>13} {:>15} {:>11} {:>9}",
        "chain", "replay ms", "squash ms", "ratio", "fresh chain", "fresh squashed", "pg_restore", "vs dump"
    );
    let mut per_migration = Vec::new();
    for n in [100, 300, 1000] {
        println!(
            "  measuring a {n}-migration chain: replay, squash, fresh database, pg_restore ({} samples each)",
            bench.samples()
        );
        let dir = root.join("migrations");
        let write = || {
            let _ = std::fs::remove_dir_all(&root);
            synthetic::write_chain(&dir, n)
        };
        write()?;
        let set = MigrationSet::from_dir(&dir)?;
        let replay = bench.median(|| {
            let db = server.scratch_database("bench_chain")?;
            let mut client = db.try_connect()?;
            let started = Instant::now();
            migrator::migrate::migrate(&mut client, &set)?;
            Ok(started.elapsed())
        })?;
        let opts = options(&root);
        let mut chain_millis = 0.0;
        // Each sample squashes the chain anew (a squashed folder is a fixed point); the last
        // one leaves the squashed set for the fresh-database figures.
        let squash = bench.median(|| {
            write()?;
            let started = Instant::now();
            let report = squash_dir(&server, &dir, &opts)?;
            chain_millis = report.old_chain_millis;
            Ok(started.elapsed())
        })?;
        let (mut fresh, mut restore) = (Vec::new(), Vec::new());
        for _ in 0..bench.samples() {
            let (f, r) = synthetic::fresh_and_restore(sh, &server, &dir)?;
            fresh.push(f);
            restore.push(r);
        }
        let (fresh, restore) = (median(&mut fresh), median(&mut restore));
        println!(
            "{n:>6} {:>10.0} {:>10.0} {:>7.1}x {:>13.0} {:>15.0} {:>11.0} {:>8.2}x",
            millis(replay),
            millis(squash),
            squash.as_secs_f64() / replay.as_secs_f64(),
            chain_millis,
            millis(fresh),
            millis(restore),
            fresh.as_secs_f64() / restore.as_secs_f64()
        );
        bench.target(
            format!("squash of {n} migrations / one replay of the chain"),
            squash.as_secs_f64() / replay.as_secs_f64(),
            4.0,
            "x",
        );
        bench.target(
            format!("fresh database from the squashed {n} / pg_restore of its schema"),
            fresh.as_secs_f64() / restore.as_secs_f64(),
            1.5,
            "x",
        );
        per_migration.push(squash.as_secs_f64() / n as f64);
    }
    println!("ratio = squash / replay (target <= 4x); vs dump = fresh squashed / pg_restore (target <= 1.5x)");
    data_step_bench(&server, &root, bench)?;
    let _ = std::fs::remove_dir_all(&root);
    // Linear growth: the time per migration does not rise with the chain (a fixed cost makes it fall).
    bench.target(
        "squash time per migration, 1000-chain / 300-chain (linear growth)",
        per_migration[2] / per_migration[1],
        1.25,
        "x",
    );
    Ok(())
}

/// Tables of the schema the data step is measured on, and rows in each.
const WIDE_TABLES: usize = 500;
const WIDE_ROWS: usize = 20;

/// Squashes a chain that leaves 500 filled tables and records the data step's time per table
/// (reading and comparing every table's rows, writing the data migrations): at most 2 ms.
fn data_step_bench(server: &Server, root: &Path, bench: &mut Bench) -> anyhow::Result<()> {
    println!(
        "  measuring the data step on {WIDE_TABLES} tables of {WIDE_ROWS} rows each ({} samples)",
        bench.samples()
    );
    let dir = root.join("migrations");
    let mut carry = Vec::new();
    for _ in 0..bench.samples() {
        let _ = std::fs::remove_dir_all(root);
        synthetic::write_wide_chain(&dir, WIDE_TABLES, WIDE_ROWS)?;
        let report = squash_dir(server, &dir, &options(root))?;
        anyhow::ensure!(
            report.rows_carried == WIDE_TABLES * WIDE_ROWS,
            "the data step carried {} rows",
            report.rows_carried
        );
        carry.push(Duration::from_secs_f64(report.carry_millis / 1000.0));
    }
    let per_table = millis(median(&mut carry)) / WIDE_TABLES as f64;
    println!(
        "  data step: {:.0} ms for {WIDE_TABLES} tables, {per_table:.2} ms a table",
        per_table * WIDE_TABLES as f64
    );
    bench.target(format!("data step per table on a {WIDE_TABLES}-table schema"), per_table, 2.0, " ms");
    Ok(())
}

/// The folder a benchmark's chains are written in (removed when the benchmark ends).
fn bench_root() -> PathBuf {
    std::env::temp_dir().join(format!("sdm-squash-bench-{}", std::process::id()))
}

/// The options a benchmark squash runs with: a real squash of a folder that is not in git.
fn options(root: &Path) -> Options {
    Options {
        dry_run: false,
        check: false,
        allow_dirty: true,
        target_dir: root.join("target"),
        after_step: None,
        quiet: true,
    }
}

/// Returns the middle of `samples` (sorting them).
pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_sample_and_targets_say_met_or_missed() {
        let bench = Bench::new(5);
        let mut next = [9, 1, 5, 7, 3].into_iter().map(Duration::from_millis);
        assert_eq!(bench.median(|| Ok(next.next().unwrap())).unwrap(), Duration::from_millis(5));

        let mut bench = Bench::new(1);
        bench.target("fast", 1.1, 1.2, "x");
        bench.summary(true).unwrap();
        bench.target("slow", 1.3, 1.2, "x");
        bench.summary(false).unwrap();
        let error = bench.summary(true).unwrap_err().to_string();
        assert_eq!(error, "1 benchmark target(s) missed (--strict)");
    }
}
