//! The splitter against Postgres's own lexer and grammar: a script sent as one simple query is
//! split by the server, which runs each statement and completes it; the statements it completed
//! (and the marker each returned) must be the splitter's, for a seeded generated corpus of hard
//! cases and for every migration of the chains the tests own.

use std::path::Path;

use migrator::migrations::{MigrationSet, TransactionMode};
use migrator::sql::lexer::{split, tokens, TokenKind};
use postgres::{Client, SimpleQueryMessage};

use crate::corpus::{self, Rng, Script};

/// Scripts the verify run checks; the ignored test below checks many more.
const CASES: usize = 2000;
/// Scripts sent to the server in one query.
const BATCH: usize = 200;
const SEED: u64 = 0x5D11_7E55;

/// Per statement Postgres completed, the first column of the rows it returned.
type Completed = Vec<Vec<Option<String>>>;

/// Runs `text` as one simple query in a transaction rolled back after it, and returns what each
/// statement Postgres read in it returned.
fn server_split(client: &mut Client, text: &str) -> Result<Completed, postgres::Error> {
    client.batch_execute("BEGIN")?;
    let messages = client.simple_query(text);
    client.batch_execute("ROLLBACK")?;
    let (mut completed, mut rows) = (Vec::new(), Vec::new());
    for message in messages? {
        match message {
            SimpleQueryMessage::Row(row) => rows.push(row.get(0).map(str::to_string)),
            SimpleQueryMessage::CommandComplete(_) => completed.push(std::mem::take(&mut rows)),
            _ => {}
        }
    }
    Ok(completed)
}

/// The splitter's statements of `text` that hold code, each from its first token to its end
/// without the `;`.
fn splitter_statements(text: &str) -> Vec<String> {
    split(text)
        .statements
        .iter()
        .filter(|s| s.has_code)
        .map(|s| {
            let statement = &text[s.span.clone()];
            let code = tokens(statement)
                .find(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment))
                .map_or(0, |t| t.span.start);
            statement[code..].strip_suffix(';').unwrap_or(&statement[code..]).to_string()
        })
        .collect()
}

fn expected(scripts: &[Script]) -> Completed {
    scripts.iter().flat_map(|s| &s.pieces).map(|p| p.marker.iter().cloned().map(Some).collect()).collect()
}

/// Checks `count` generated scripts against the splitter's intent and the server; returns the
/// number of statements checked. Panics with the first script on which they disagree.
fn check_corpus(client: &mut Client, seed: u64, count: usize) -> usize {
    let mut rng = Rng::new(seed);
    let (mut statements, mut marker) = (0, 0);
    for _ in 0..count.div_ceil(BATCH) {
        let scripts: Vec<Script> = (0..BATCH)
            .map(|_| {
                let script = corpus::script(&mut rng, marker);
                marker += script.pieces.len();
                script
            })
            .collect();
        for script in &scripts {
            let wanted: Vec<&str> = script.pieces.iter().map(|p| p.sql.as_str()).collect();
            assert_eq!(splitter_statements(&script.text), wanted, "the splitter on:\n{}", script.text);
        }
        // A script may end without `;`: a `;` of its own keeps it apart from the next.
        let text = scripts.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n;\n");
        statements += scripts.iter().map(|s| s.pieces.len()).sum::<usize>();
        if server_split(client, &text).ok().as_ref() == Some(&expected(&scripts)) {
            continue;
        }
        for script in &scripts {
            let found = server_split(client, &script.text);
            let wanted = expected(std::slice::from_ref(script));
            assert!(
                found.as_ref().is_ok_and(|f| *f == wanted),
                "Postgres splits otherwise than the splitter:\n{}\nPostgres: {found:?}\nsplitter: {wanted:?}",
                script.text
            );
        }
        panic!("a batch disagrees although each of its scripts agrees:\n{text}");
    }
    statements
}

#[test]
fn the_splitter_splits_a_generated_corpus_as_postgres_does() {
    let db = devdb::empty_database();
    let statements = check_corpus(&mut db.connect(), SEED, CASES);
    assert!(statements > CASES, "{statements} statements in {CASES} scripts");
}

/// `cargo test -p migrator --test it -- --ignored split_corpus` checks more scripts:
/// `SPLIT_CORPUS_SCRIPTS` of them (100 000 unless set), from `SPLIT_CORPUS_SEED` (a fixed seed
/// unless set), and prints the figures.
#[test]
#[ignore = "a long run of the corpus; the verify run checks a part of it"]
fn split_corpus_at_length() {
    let number = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (count, seed) = (number("SPLIT_CORPUS_SCRIPTS", 100_000) as usize, number("SPLIT_CORPUS_SEED", SEED));
    let db = devdb::empty_database();
    let started = std::time::Instant::now();
    let statements = check_corpus(&mut db.connect(), seed, count);
    println!(
        "{count} scripts, {statements} statements, seed {seed:#x}: Postgres and the splitter agree ({:.1?})",
        started.elapsed()
    );
}

/// Runs every migration of the chain in `dir` on a fresh database: the whole file as Postgres
/// splits it must complete as many statements as the splitter finds, and on a second database
/// each statement the splitter found, sent alone, must be exactly one statement for Postgres.
fn check_chain(dir: &Path) -> usize {
    let set = MigrationSet::from_dir(dir).unwrap_or_else(|e| panic!("{e}"));
    let server = devdb::superuser_server();
    let (whole, alone) = (server.test_database(None).unwrap(), server.test_database(None).unwrap());
    let (mut whole, mut alone) = (whole.connect(), alone.connect());
    let mut checked = 0;
    for file in &set.files {
        let found = split(&file.sql);
        let spans: Vec<_> = found.statements.iter().filter(|s| s.has_code).collect();
        let pg_error = |e: postgres::Error| migrator::db::with_sources(&e);
        if file.transaction_mode() == TransactionMode::OneTransaction {
            let messages =
                whole.simple_query(&file.sql).unwrap_or_else(|e| panic!("{}: {}", file.label(), pg_error(e)));
            let completed = messages.iter().filter(|m| matches!(m, SimpleQueryMessage::CommandComplete(_))).count();
            assert_eq!(completed, spans.len(), "{}: statements Postgres completed, and the splitter's", file.label());
        } else {
            // Postgres runs a query of several statements in one transaction, which a
            // no-transaction file's statements refuse: this one runs statement by statement.
            for statement in &spans {
                whole
                    .simple_query(&file.sql[statement.span.clone()])
                    .unwrap_or_else(|e| panic!("{}: {}", file.label(), pg_error(e)));
            }
        }
        for statement in spans {
            let text = &file.sql[statement.span.clone()];
            let messages = alone
                .simple_query(text)
                .unwrap_or_else(|e| panic!("{} line {}: {}", file.label(), statement.line, pg_error(e)));
            let completed = messages.iter().filter(|m| matches!(m, SimpleQueryMessage::CommandComplete(_))).count();
            assert_eq!(completed, 1, "{} line {}: one statement for Postgres:\n{text}", file.label(), statement.line);
            checked += 1;
        }
    }
    checked
}

#[test]
fn the_splitter_splits_the_test_chains_as_postgres_does() {
    let chains = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test_data/chains");
    for (chain, folder) in [("sdm", "sdm/migrations"), ("small", "small/migrations"), ("majors", "majors")] {
        let checked = check_chain(&chains.join(folder));
        assert!(checked > 0, "{chain}: no statement checked");
    }
}

/// `SPLIT_SQL_DIR=<folder> cargo test -p migrator --test it -- --ignored split_sql_files` reads
/// every `.sql` file under the folder (a real project's migrations, in any order) and has
/// Postgres's parser read each statement the splitter found, running nothing (a `Parse`
/// message): a statement cut too early fails with a syntax error (an open quote, an unexpected
/// end), two statements taken as one fail with `cannot insert multiple commands into a prepared
/// statement`. It prints every syntax error with its file and line, and the figures.
#[test]
#[ignore = "reads a folder named by SPLIT_SQL_DIR"]
fn split_sql_files_as_postgres_parses_them() {
    let Some(dir) = std::env::var_os("SPLIT_SQL_DIR") else { panic!("set SPLIT_SQL_DIR to a folder of .sql files") };
    let mut files = Vec::new();
    let mut pending = vec![std::path::PathBuf::from(dir)];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "sql") {
                files.push(path);
            }
        }
    }
    files.sort();
    let db = devdb::empty_database();
    let mut client = db.connect();
    let (mut statements, mut syntax_errors, mut bytes) = (0, Vec::new(), 0);
    for path in &files {
        let Ok(sql) = std::fs::read_to_string(path) else { continue };
        bytes += sql.len();
        for statement in split(&sql).statements.iter().filter(|s| s.has_code) {
            statements += 1;
            let Err(error) = client.prepare(&sql[statement.span.clone()]) else { continue };
            if error.code() == Some(&postgres::error::SqlState::SYNTAX_ERROR) {
                let message = error.as_db_error().map_or_else(|| error.to_string(), |e| e.message().to_string());
                syntax_errors.push(format!("{}:{}: {message}", path.display(), statement.line));
            }
        }
    }
    for error in &syntax_errors {
        println!("{error}");
    }
    println!("{} files ({bytes} bytes), {statements} statements, {} syntax errors", files.len(), syntax_errors.len());
}
