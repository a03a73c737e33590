//! Squash tests that need the product or xtask: databases with rows the app's own workflows write
//! (`existing`), following a squash (`follow`, `twice`) and the runner's refusals. They drive the
//! `squash` crate through its public API; the engine's own tests live in that crate.

pub(crate) mod existing;
mod follow;
mod majors;
mod refusals;
mod twice;

use ::squash::testing::{snapshot, Tree};
use devdb::{test_server, Server};

fn server() -> &'static Server {
    test_server()
}
