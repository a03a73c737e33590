//! `cargo xtask bench`: prints the figures behind the performance targets, with no pass or fail
//! (machines are noisy). The targets: a migrated per-test database within 1.2x of a bare
//! `CREATE DATABASE ... TEMPLATE`; a squash at most 4x one replay of the chain plus cluster start,
//! growing linearly with chain length; a fresh database from the squashed set within 1.5x of
//! restoring a `pg_dump` of the same schema, measured in the same run.

use std::time::{Duration, Instant};

use devdb::Server;
use xshell::Shell;

use crate::flags;
use crate::steps::millis;

impl flags::Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        cluster_bench()?;
        if !self.no_squash {
            crate::squash::bench(sh)?;
        }
        Ok(())
    }
}

fn cluster_bench() -> anyhow::Result<()> {
    let root = std::env::temp_dir().join(format!("sdm-pg-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);

    let started = Instant::now();
    let server = Server::ephemeral_at(&root)?;
    let cold = started.elapsed();
    drop(server);

    let started = Instant::now();
    let server = Server::ephemeral_at(&root)?;
    let warm = started.elapsed();

    let set = crate::database::migrations()?;
    let started = Instant::now();
    let template = server.template_for(&set)?;
    let template_build = started.elapsed();

    let rounds = 25;
    let (mut bare, mut bare_file_copy, mut migrated) = (Vec::new(), Vec::new(), Vec::new());
    let mut admin = server.connect()?;
    for i in 0..rounds {
        for (strategy, samples) in [("", &mut bare), (" STRATEGY FILE_COPY", &mut bare_file_copy)] {
            let started = Instant::now();
            admin.batch_execute(&format!("CREATE DATABASE bench_bare_{i} TEMPLATE template1{strategy}"))?;
            samples.push(started.elapsed());
            admin.batch_execute(&format!("DROP DATABASE bench_bare_{i}"))?;
        }
        let started = Instant::now();
        let db = server.test_database(Some(&set))?;
        migrated.push(started.elapsed());
        drop(db);
    }
    let (bare, bare_file_copy, migrated) = (median(&mut bare), median(&mut bare_file_copy), median(&mut migrated));
    println!("ephemeral cluster, cold start (initdb + start): {:>8.1} ms", millis(cold));
    println!("ephemeral cluster, warm start (start only):     {:>8.1} ms", millis(warm));
    println!("template {template} built once ({} migrations): {:.1} ms", set.files.len(), millis(template_build));
    println!(
        "bare CREATE DATABASE ... TEMPLATE template1 (default strategy), median of {rounds}: {:>7.1} ms",
        millis(bare)
    );
    println!(
        "bare CREATE DATABASE ... TEMPLATE template1 STRATEGY FILE_COPY, median of {rounds}: {:>6.1} ms",
        millis(bare_file_copy)
    );
    println!(
        "migrated per-test database (connect, template check, clone), median of {rounds}: {:>5.1} ms",
        millis(migrated)
    );
    println!(
        "ratio per-test / bare: {:.2}x (target <= 1.2x); against a bare FILE_COPY clone: {:.2}x",
        migrated.as_secs_f64() / bare.as_secs_f64(),
        migrated.as_secs_f64() / bare_file_copy.as_secs_f64()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
