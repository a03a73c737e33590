//! `cargo xtask bench`: prints the figures behind SPEC.md's targets (no pass/fail; machines are noisy).

use std::time::{Duration, Instant};

use devdb::Server;
use xshell::Shell;

use crate::flags;

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
    println!("ephemeral cluster, cold start (initdb + start): {:>8.1} ms", ms(cold));
    println!("ephemeral cluster, warm start (start only):     {:>8.1} ms", ms(warm));
    println!("template {template} built once ({} migrations): {:.1} ms", set.files.len(), ms(template_build));
    println!(
        "bare CREATE DATABASE ... TEMPLATE template1 (default strategy), median of {rounds}: {:>7.1} ms",
        ms(bare)
    );
    println!(
        "bare CREATE DATABASE ... TEMPLATE template1 STRATEGY FILE_COPY, median of {rounds}: {:>6.1} ms",
        ms(bare_file_copy)
    );
    println!(
        "migrated per-test database (connect, template check, clone), median of {rounds}: {:>5.1} ms",
        ms(migrated)
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
