//! `cargo xtask bench`: the figures behind the performance targets, each the median of several
//! samples, and at the end one line per target, met or missed. Machines are noisy, so a miss
//! fails the run only with `--strict`.
//!
//! The targets: a migrated per-test database within 1.2x of a bare clone of the same template
//! made the same way; a squash at most 4x one replay of the chain on the same server, growing
//! linearly with chain length; a fresh database from the squashed set within 1.5x of restoring
//! a `pg_dump` of the same schema, measured in the same run.

use std::time::{Duration, Instant};

use devdb::Server;
use xshell::Shell;

use crate::flags;
use crate::steps::millis;

impl flags::Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut bench = Bench::new(self.samples.unwrap_or(3));
        cluster_bench(&mut bench)?;
        if !self.no_squash {
            crate::squash::bench(sh, &mut bench)?;
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
    let cold = bench.median(|| {
        let _ = std::fs::remove_dir_all(&root);
        let started = Instant::now();
        let server = Server::ephemeral_at(&root)?;
        let cold = started.elapsed();
        drop(server);
        Ok(cold)
    })?;
    let warm = bench.median(|| {
        let started = Instant::now();
        let server = Server::ephemeral_at(&root)?;
        let warm = started.elapsed();
        drop(server);
        Ok(warm)
    })?;
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
    println!("ephemeral cluster, cold start (initdb + start): {:>8.1} ms", millis(cold));
    println!("ephemeral cluster, warm start (start only):     {:>8.1} ms", millis(warm));
    println!("template {template} built ({} migrations + VACUUM FULL): {:.1} ms", set.files.len(), millis(build));
    println!(
        "bare CREATE DATABASE ... TEMPLATE {template} STRATEGY FILE_COPY, median of {rounds}: {:>6.1} ms",
        millis(bare)
    );
    println!(
        "bare CREATE DATABASE ... TEMPLATE template1 (for scale), median of {rounds}: {:>6.1} ms",
        millis(template1)
    );
    println!(
        "migrated per-test database (connect, template check, clone), median of {rounds}: {:>5.1} ms",
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
