//! Golden files for the shaped DDL: each folder under `squash/test_data/shape/` holds a chain
//! (`chain.sql`) and the migration squash writes for it (`shaped.sql`). The test replays the
//! chain, shapes its dump, compares the text, and proves the text builds the chain's schema.
//! `UPDATE_EXPECT=1 cargo test -p squash golden` rewrites the `shaped.sql` files.

use std::path::Path;

use devdb::{role_server, Privileges, Schema};
use xshell::Shell;

use super::server;
use crate::facts::Facts;
use crate::generate::{self, Sources};
use crate::plan::{FileKind, PlannedFile};
use crate::shape::chunks;
use crate::{pg, toc};

/// Entries of a dump that set up its session rather than make objects.
const SESSION_KINDS: &[&str] = &["ENCODING", "STDSTRINGS", "SEARCHPATH", "DATABASE"];

#[test]
fn shaped_ddl_matches_the_golden_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/shape");
    let mut cases: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 3, "golden cases are missing from {}", root.display());
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut stale = Vec::new();
    // Each case has its own databases: shape them side by side.
    let shaped: Vec<String> = std::thread::scope(|scope| {
        let jobs: Vec<_> = cases.iter().map(|case| scope.spawn(move || shape_case(case))).collect();
        jobs.into_iter().map(|j| j.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    for (case, shaped) in cases.iter().zip(shaped) {
        let expected_path = case.join("shaped.sql");
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if shaped != expected {
            if update {
                std::fs::write(&expected_path, &shaped).unwrap();
            } else {
                let diff = devdb::line_diff(&expected, &shaped, 200).unwrap_or_default();
                stale.push(format!("{} (- golden, + now):\n{diff}", expected_path.display()));
            }
        }
    }
    assert!(stale.is_empty(), "shaped DDL changed; check it and run with UPDATE_EXPECT=1:\n{}", stale.join("\n"));
}

/// Replays `case/chain.sql`, returns the migration squash writes for its dump, and checks that
/// migration builds the same schema.
fn shape_case(case: &Path) -> String {
    let chain = std::fs::read_to_string(case.join("chain.sql")).unwrap();
    // A chain that makes the roles it grants to needs a server where that is allowed.
    let server = if chain.contains("CREATE ROLE") { role_server() } else { server() };
    let old = server.scratch_database("golden_old").unwrap();
    old.connect().batch_execute(&chain).unwrap_or_else(|e| panic!("{}: {}", case.display(), migrator::db::report(&e)));
    let work = std::env::temp_dir().join(format!("sdm-golden-{}-{}", std::process::id(), old.name()));
    std::fs::create_dir_all(&work).unwrap();
    let sh = Shell::new().unwrap();
    let archive = work.join("old.dump");
    pg::dump_custom(&sh, server, &old, &archive).unwrap();
    let entries = toc::parse(&pg::list(&sh, server, &archive).unwrap()).unwrap();
    let facts = Facts::read(&mut old.connect()).unwrap();
    let text = pg::restore_text(&sh, server, &archive).unwrap();
    let chunks = chunks::split(&text, 0..entries.len(), &entries);
    let file = PlannedFile {
        module: None,
        name: "golden".to_string(),
        kind: FileKind::Initial,
        entries: (0..entries.len()).filter(|&i| !SESSION_KINDS.contains(&entries[i].kind.as_str())).collect(),
        kept: None,
    };
    let sources = Sources { entries: &entries, chunks: &chunks, facts: &facts };
    let shaped = generate::schema_sql(&sources, &file, None);
    std::fs::remove_dir_all(&work).unwrap();

    let new = server.scratch_database("golden_new").unwrap();
    new.connect().batch_execute(&format!("BEGIN;\n{shaped}\nCOMMIT;")).unwrap_or_else(|e| {
        panic!("{}: the shaped text fails: {}\n{shaped}", case.display(), migrator::db::report(&e))
    });
    let dump = |db: &str| Schema::dump_with(server, db, &[], Privileges::Included).unwrap();
    if let Some(diff) = dump(old.name()).diff(&dump(new.name())) {
        panic!("{}: the shaped text builds another schema (- chain, + shaped):\n{diff}", case.display());
    }
    shaped
}
