//! `cargo xtask db stop`: stops the workspace's ephemeral cluster, and the tests' one when it is
//! elsewhere (in memory), when a run left them behind.

use anyhow::Context;
use devdb::{default_cluster_dir, test_cluster_dir, Cluster};
use xshell::Shell;

use crate::flags;

impl flags::Db {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        match self.subcommand {
            flags::DbCmd::Stop(cmd) => cmd.run(),
        }
    }
}

impl flags::Stop {
    fn run(self) -> anyhow::Result<()> {
        let mut roots = vec![default_cluster_dir(), test_cluster_dir(None)];
        roots.dedup();
        for root in roots {
            match Cluster::stop_left_behind(&root, self.force) {
                Ok(true) => println!("stopped the cluster in {}", root.display()),
                Ok(false) => println!("no cluster is running in {}", root.display()),
                Err(devdb::Error::InUse(dir)) => anyhow::bail!(
                    "the cluster in {} is in use by another process (a test run, or `cargo xtask sdm`); \
                     it stops when that ends, or run `cargo xtask db stop --force` to stop it now",
                    dir.display()
                ),
                Err(e) => return Err(e).context("stop the cluster"),
            }
        }
        Ok(())
    }
}
