//! Proves the `sdm` app and Python's LangGraph library (the real one, from PyPI) share rows both ways.
//!
//! Python runs `python/interop.py` with the workspace venv's interpreter, `.venv/bin/python`
//! (made by `python3 python/setup-venv.py`; `SDM_PYTHON` picks another one). Without it these
//! tests fail and say how to make it, unless `SDM_SKIP_PYTHON=1` asks to skip them. One
//! `interop.py serve` process per test binary answers every test's requests, so the library's
//! import time is paid once rather than once per call.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

use devdb::{empty_database, test_database, test_server, Schema, TestDatabase};
use serde_json::{json, Value};

const JOURNEY: &str = "knee-osteoarthritis-treatment";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

// --- Python ----------------------------------------------------------------------------------

/// The interpreter that has the pinned LangGraph libraries, and the `interop.py serve` worker
/// this test process sends its requests to.
struct Python {
    exe: &'static Path,
    worker: &'static Mutex<Worker>,
}

/// Why the tests cannot reach Python.
enum Unavailable {
    /// The venv is missing or lacks LangGraph: `SDM_SKIP_PYTHON=1` may skip the tests.
    Venv(String),
    /// The venv is fine but `interop.py serve` did not start: a bug to fix, never skipped.
    Script(String),
}

impl Python {
    /// Returns the venv's interpreter with its worker, started once per process (which also
    /// checks that LangGraph imports); `None` (after a loud skip line) when the venv is unusable
    /// and `SDM_SKIP_PYTHON=1`.
    fn find(test: &str) -> Option<Python> {
        static CHECKED: OnceLock<Result<(PathBuf, Mutex<Worker>), Unavailable>> = OnceLock::new();
        let checked = CHECKED.get_or_init(|| {
            let exe = std::env::var_os("SDM_PYTHON")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join(".venv").join("bin").join("python"));
            if !exe.exists() {
                return Err(Unavailable::Venv(format!("{} does not exist", exe.display())));
            }
            let worker = Worker::start(&exe)?;
            Ok((exe, Mutex::new(worker)))
        });
        match checked {
            Ok((exe, worker)) => Some(Python { exe, worker }),
            Err(Unavailable::Venv(why)) if std::env::var("SDM_SKIP_PYTHON").as_deref() == Ok("1") => {
                // Straight to stderr: the test harness captures eprintln! of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!! SKIPPED {test}: no usable Python LangGraph venv ({why}); SDM_SKIP_PYTHON=1 is set !!!!!\n"
                );
                None
            }
            Err(Unavailable::Venv(why)) => panic!(
                "the LangGraph interop tests need the Python venv: {why}.\n\
                 Run `python3 python/setup-venv.py` at the workspace root (or set SDM_PYTHON to an \
                 interpreter with python/requirements.txt installed; SDM_SKIP_PYTHON=1 skips these tests)."
            ),
            Err(Unavailable::Script(why)) => panic!("{why}"),
        }
    }

    /// Sends `interop.py ARGS...` to the worker; returns the JSON it answered, or its error message.
    fn request(&self, args: &[&str]) -> Result<Value, String> {
        // A test that panicked holding the lock left the worker between requests (or dead,
        // which `request` reports again), so the lock is still good to use.
        self.worker.lock().unwrap_or_else(PoisonError::into_inner).request(args)
    }

    /// Runs `interop.py ARGS...` and returns the JSON it answered; panics with its error on failure.
    fn run(&self, args: &[&str]) -> Value {
        self.request(args).unwrap_or_else(|error| panic!("interop.py {} failed:\nerror: {error}", args[0]))
    }

    /// Runs `interop.py ARGS...`, expecting it to fail; returns its error message.
    fn run_failing(&self, args: &[&str]) -> String {
        match self.request(args) {
            Ok(result) => panic!("interop.py {} should have failed, printed:\n{result:#}", args[0]),
            Err(error) => error,
        }
    }
}

/// A running `python/interop.py serve`: one JSON request per line in, one response per line out.
///
/// It lives in a static, which is never dropped: the worker ends when its stdin closes, and the
/// kernel closes it when this test process exits, however it exits.
struct Worker {
    child: Child,
    requests: ChildStdin,
    responses: BufReader<ChildStdout>,
    /// Collects the worker's stderr (library warnings, a crash's traceback) until it exits.
    stderr: Option<JoinHandle<String>>,
    /// Why the worker is gone, once it is: every later request fails with this.
    ended: Option<String>,
}

impl Worker {
    fn start(exe: &Path) -> Result<Worker, Unavailable> {
        let mut child = Command::new(exe)
            .arg(workspace().join("python").join("interop.py"))
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Unavailable::Venv(format!("cannot run {}: {e}", exe.display())))?;
        let requests = child.stdin.take().expect("piped stdin");
        let responses = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        // Drained all along, so a chatty library never blocks on a full pipe.
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        let mut worker = Worker { child, requests, responses, stderr: Some(stderr), ended: None };
        let mut ready = String::new();
        match worker.responses.read_line(&mut ready) {
            Ok(n) if n > 0 && serde_json::from_str::<Value>(&ready).ok() == Some(json!({"ready": true})) => Ok(worker),
            Ok(0) => {
                // It exited while loading: Python prints the failed import's traceback.
                let (status, stderr) = worker.end();
                if stderr.contains("ModuleNotFoundError") || stderr.contains("ImportError") {
                    Err(Unavailable::Venv(format!("{} cannot import LangGraph: {stderr}", exe.display())))
                } else {
                    Err(Unavailable::Script(format!("python/interop.py serve did not start ({status}):\n{stderr}")))
                }
            }
            read => {
                let _ = worker.child.kill();
                let (status, stderr) = worker.end();
                Err(Unavailable::Script(format!(
                    "python/interop.py serve did not start: expected {{\"ready\": true}} first, got {read:?} \
                     {ready:?} ({status}):\n{stderr}"
                )))
            }
        }
    }

    /// Sends one request; returns the result, or the command's error message (`COMMAND: ...`).
    /// Panics when the worker is gone, with what it said on stderr.
    fn request(&mut self, args: &[&str]) -> Result<Value, String> {
        if let Some(ended) = &self.ended {
            panic!("interop.py {}: the worker ended earlier: {ended}", args[0]);
        }
        let mut line = json!({"cmd": args[0], "args": &args[1..]}).to_string();
        line.push('\n');
        let mut response = String::new();
        let answered = self
            .requests
            .write_all(line.as_bytes())
            .and_then(|()| self.requests.flush())
            .and_then(|()| self.responses.read_line(&mut response));
        if !matches!(answered, Ok(n) if n > 0) {
            let _ = self.child.kill();
            let (status, stderr) = self.end();
            panic!("interop.py {}: the worker ended while answering ({answered:?}, {status}):\n{stderr}", args[0]);
        }
        let response: Value = match serde_json::from_str(&response) {
            Ok(response) => response,
            Err(e) => {
                // Requests and responses no longer pair up: no later answer can be trusted.
                let _ = self.child.kill();
                let (status, stderr) = self.end();
                panic!(
                    "interop.py {} answered with something that is not JSON ({e}):\n{response}\n({status}):\n{stderr}",
                    args[0]
                )
            }
        };
        match (&response["ok"], &response["error"]) {
            (Value::Bool(true), _) => Ok(response["result"].clone()),
            (Value::Bool(false), Value::String(error)) => Err(error.clone()),
            _ => panic!("interop.py {} answered without \"ok\" and \"result\" or \"error\": {response}", args[0]),
        }
    }

    /// Waits for the exited worker; returns its exit status and stderr, and remembers them.
    fn end(&mut self) -> (String, String) {
        let status = match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => format!("cannot wait for it: {e}"),
        };
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let stderr = stderr.trim().to_string();
        self.ended = Some(format!("{status}:\n{stderr}"));
        (status, stderr)
    }
}

macro_rules! python_or_skip {
    ($test:literal) => {
        match Python::find($test) {
            Some(python) => python,
            None => return,
        }
    };
}

// --- the sdm binary --------------------------------------------------------------------------

fn sdm_output(db: &TestDatabase, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sdm"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .current_dir(workspace())
        .output()
        .unwrap_or_else(|e| panic!("run sdm: {e}"))
}

/// Runs `sdm --json ARGS...` and returns its JSON.
fn sdm(db: &TestDatabase, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = sdm_output(db, &all);
    assert!(out.status.success(), "sdm {} failed:\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("sdm {} printed no JSON ({e}):\n{}", args.join(" "), String::from_utf8_lossy(&out.stdout))
    })
}

/// Runs `sdm ARGS...` and returns what it printed for people.
fn sdm_text(db: &TestDatabase, args: &[&str]) -> String {
    let out = sdm_output(db, args);
    assert!(out.status.success(), "sdm {} failed:\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A user onboarded onto the knee journey: their conversation and its LangGraph thread.
struct Onboarded {
    email: String,
    user_id: i64,
    conversation_id: i64,
    thread_id: String,
}

impl Onboarded {
    fn conversation(&self) -> String {
        self.conversation_id.to_string()
    }

    fn memories(&self) -> String {
        format!("users.{}.memories", self.user_id)
    }
}

fn onboard(db: &TestDatabase, email: &str) -> Onboarded {
    let user = sdm(db, &["user", "create", "--email", email, "--name", "Test Patient"]);
    let started = sdm(db, &["onboard", "--email", email, "--journey", JOURNEY, "--answers", r#"{"pain-level": 6}"#]);
    assert_eq!(started["created"], json!(true));
    Onboarded {
        email: email.to_string(),
        user_id: user["id"].as_i64().expect("user id"),
        conversation_id: started["conversation_id"].as_i64().expect("conversation id"),
        thread_id: started["thread_id"].as_str().expect("thread id").to_string(),
    }
}

fn chat(db: &TestDatabase, who: &Onboarded, message: &str) -> Value {
    sdm(db, &["chat", "--conversation", &who.conversation(), message])
}

/// Returns `sdm history` as (role, content) pairs.
fn history(db: &TestDatabase, who: &Onboarded) -> Vec<(String, String)> {
    let shown = sdm(db, &["history", "--conversation", &who.conversation()]);
    shown["messages"]
        .as_array()
        .expect("history messages")
        .iter()
        .map(|m| {
            (m["role"].as_str().unwrap_or_default().to_string(), m["content"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

// --- what Python read ------------------------------------------------------------------------

/// Returns Python's messages as (type, content) pairs.
fn python_messages(read: &Value) -> Vec<(String, String)> {
    read["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap_or("<not a message>").to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Returns the checkpoints `list()` gave (newest first) as (id, step) pairs.
fn listed_checkpoints(read: &Value) -> Vec<(String, i64)> {
    read["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .map(|c| (c["id"].as_str().expect("checkpoint id").to_string(), c["step"].as_i64().expect("step")))
        .collect()
}

/// Asserts that `list()` walked one parent chain covering every checkpoint, in id order.
fn assert_linear_chain(read: &Value, expected_len: usize) {
    let listed: Vec<String> = listed_checkpoints(read).into_iter().map(|(id, _)| id).collect();
    let chain: Vec<String> = serde_json::from_value(read["chain"].clone()).expect("chain");
    assert_eq!(read["chain_complete"], json!(true), "the parent chain is broken: {:#}", read["checkpoints"]);
    assert_eq!(listed.len(), expected_len, "checkpoints listed: {listed:?}");
    assert_eq!(chain, listed, "walking parents from the newest must visit checkpoints in id order");
}

/// Asserts a checkpoint id is a UUIDv6 whose clock sequence is its step, as LangGraph's are.
fn assert_langgraph_id(id: &str, step: i64) {
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(&id[14..15], "6", "checkpoint id {id} is not a UUIDv6");
    let clock_seq = u16::from_str_radix(&id[19..23], 16).expect("hex") & 0x3FFF;
    assert_eq!(i64::from(clock_seq), step & 0x3FFF, "checkpoint id {id}: clock sequence must be the step ({step})");
}

/// Asserts channel versions look like `PostgresSaver.get_next_version`'s and returns their counters.
fn version_counters(read: &Value, channel: &str) -> Vec<u64> {
    read["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .filter_map(|c| c["channel_versions"].get(channel))
        .map(|v| {
            let v = v.as_str().unwrap_or_else(|| panic!("channel version {v} is not a string"));
            let (counter, fraction) = v.split_at(32.min(v.len()));
            assert!(
                counter.len() == 32 && counter.bytes().all(|b| b.is_ascii_digit()),
                "version {v}: expected 32 digits first"
            );
            let fraction =
                fraction.strip_prefix('.').unwrap_or_else(|| panic!("version {v}: expected '.' after the counter"));
            assert!(fraction.len() >= 16, "version {v}: the random part is padded to 16 characters");
            let x: f64 = fraction.parse().unwrap_or_else(|_| panic!("version {v}: the random part is not a float"));
            assert!((0.0..1.0).contains(&x), "version {v}: the random part is in [0, 1)");
            counter.parse().expect("counter")
        })
        .collect()
}

// --- pg_dump ---------------------------------------------------------------------------------

/// Returns the schema of `db` (only `tables` unless empty), as pg_dump prints it.
fn schema_of(db: &TestDatabase, tables: &[&str]) -> Schema {
    Schema::dump(test_server(), db.name(), tables).unwrap_or_else(|e| panic!("pg_dump: {}", app::db::with_sources(&e)))
}

/// Fails with the difference unless `actual` is the same schema as `expected`.
fn assert_same_schema(expected: &Schema, actual: &Schema, what: &str) {
    if let Some(diff) = expected.diff(actual) {
        panic!("{what} (- expected, + actual):\n{diff}");
    }
}

const LANGGRAPH_TABLES: &[&str] =
    &["checkpoint_blobs", "checkpoint_migrations", "checkpoint_writes", "checkpoints", "store", "store_migrations"];

fn migration_rows(db: &TestDatabase) -> (Vec<i32>, Vec<i32>) {
    let mut client = db.connect();
    let versions = |client: &mut postgres::Client, table: &str| -> Vec<i32> {
        client.query(&format!("SELECT v FROM {table} ORDER BY v"), &[]).unwrap().iter().map(|r| r.get(0)).collect()
    };
    (versions(&mut client, "checkpoint_migrations"), versions(&mut client, "store_migrations"))
}

fn reference_schema() -> Schema {
    let path = workspace().join("xtask/test_data/langgraph-schema.sql");
    Schema::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
}

// --- 1. setup() is a no-op -------------------------------------------------------------------

#[test]
fn python_setup_changes_nothing_on_a_migrated_database() {
    let python = python_or_skip!("python_setup_changes_nothing_on_a_migrated_database");
    let db = test_database();
    let before = schema_of(&db, &[]);
    let rows_before = migration_rows(&db);
    assert_eq!(
        rows_before,
        ((0..=9).collect(), (0..=3).collect()),
        "our migrations record LangGraph's steps 0..9 and 0..3"
    );

    let reported = python.run(&["setup", db.url()]);

    assert_eq!(reported["checkpoint_migrations"], json!((0..=9).collect::<Vec<_>>()));
    assert_eq!(reported["store_migrations"], json!((0..=3).collect::<Vec<_>>()));
    assert_eq!(migration_rows(&db), rows_before, "setup() recorded migration steps");
    assert_same_schema(&before, &schema_of(&db, &[]), "setup() changed the schema");
    // And the tables are exactly the library's own.
    assert_same_schema(&reference_schema(), &schema_of(&db, LANGGRAPH_TABLES), "our LangGraph tables differ");
}

#[test]
fn the_reference_schema_is_what_the_pinned_library_creates() {
    let python = python_or_skip!("the_reference_schema_is_what_the_pinned_library_creates");
    let db = empty_database();
    let out = std::env::temp_dir().join(format!("sdm-langgraph-reference-{}.sql", std::process::id()));
    let run = Command::new(python.exe)
        .arg(workspace().join("python").join("langgraph_reference.py"))
        .arg(db.url())
        .arg(&out)
        .env("PG_DUMP", test_server().bin("pg_dump"))
        .output()
        .expect("run langgraph_reference.py");
    assert!(run.status.success(), "langgraph_reference.py failed:\n{}", String::from_utf8_lossy(&run.stderr));
    let generated = std::fs::read_to_string(&out).expect("read the generated schema");
    let _ = std::fs::remove_file(&out);
    assert_same_schema(
        &reference_schema(),
        &Schema::parse(&generated),
        "xtask/test_data/langgraph-schema.sql is stale: regenerate it as python/README.md says",
    );
}

// --- 2. Python reads what Rust wrote, and adds to it -------------------------------------------

#[test]
fn python_reads_and_resumes_a_conversation_the_app_wrote() {
    let python = python_or_skip!("python_reads_and_resumes_a_conversation_the_app_wrote");
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let said = ["Climbing stairs is the hardest part", "I tried physio last year", "I live alone"];
    let mut expected = Vec::new();
    for message in said {
        let turn = chat(&db, &ada, message);
        expected.push(("human".to_string(), message.to_string()));
        expected.push(("ai".to_string(), turn["reply"].as_str().expect("reply").to_string()));
    }
    let as_rust_shows_it = history(&db, &ada);
    assert_eq!(as_rust_shows_it, expected);

    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);

    assert_eq!(python_messages(&read), expected, "Python reads the app's messages, in order");
    for m in read["messages"].as_array().unwrap() {
        let class = m["class"].as_str().unwrap();
        assert!(
            class == "langchain_core.messages.human.HumanMessage" || class == "langchain_core.messages.ai.AIMessage",
            "{class} is not a LangChain message class"
        );
        assert!(m["id"].is_string(), "the app gives every message an id: {m}");
    }
    assert_linear_chain(&read, said.len());
    for (id, step) in listed_checkpoints(&read) {
        assert_langgraph_id(&id, step);
    }

    // A Python graph compiled with the same checkpointer picks the thread up and adds a turn.
    let resumed = python.run(&["resume", db.url(), &ada.thread_id, "What about injections?"]);
    let mut with_python = expected.clone();
    with_python.push(("human".into(), "What about injections?".into()));
    with_python.push(("ai".into(), "Python heard: What about injections?".into()));
    assert_eq!(python_messages(&resumed), with_python);
    assert_eq!(history(&db, &ada), with_python, "the app reads the turn Python added");

    // The app keeps going on the thread Python wrote to, and Python sees the whole conversation.
    let turn = chat(&db, &ada, "My goal is to walk the dog");
    with_python.push(("human".into(), "My goal is to walk the dog".into()));
    with_python.push(("ai".into(), turn["reply"].as_str().unwrap().to_string()));
    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);
    assert_eq!(python_messages(&read), with_python);
    assert_eq!(read["checkpoint_id"], turn["checkpoint_id"], "the app's checkpoint is the latest");
    let total = listed_checkpoints(&read).len();
    assert_linear_chain(&read, total);
    assert!(total > said.len() + 1, "Python's graph added its own checkpoints: {total}");
}

// --- 3. Rust reads what Python wrote -----------------------------------------------------------

#[test]
fn the_app_reads_a_thread_python_wrote_and_adds_to_it() {
    let python = python_or_skip!("the_app_reads_a_thread_python_wrote_and_adds_to_it");
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");

    // The team's Python agent runs the conversation's thread.
    let written = python.run(&["write-thread", db.url(), &ada.thread_id]);
    assert_eq!(written["messages"].as_array().unwrap().len(), 5);

    let shown = history(&db, &ada);
    assert_eq!(
        shown,
        pairs(&[
            ("human", "My knee hurts when I climb stairs."),
            ("ai", "Let me look up the options for your journey."),
            ("tool", "physio, injection, surgery"),
            ("unsupported", "[unsupported __main__.ClinicianNote]"),
            ("ai", "Physiotherapy is a good first option for you."),
        ]),
        "msgpack messages decode; a class the app does not know is shown as such"
    );
    let text = sdm_text(&db, &["history", "--conversation", &ada.conversation()]);
    assert!(text.contains("human: My knee hurts when I climb stairs."), "{text}");
    assert!(text.contains("[unsupported __main__.ClinicianNote]"), "{text}");
    let ids: Vec<Value> = sdm(&db, &["history", "--conversation", &ada.conversation()])["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    let python_ids: Vec<Value> = written["messages"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(&ids[..3], &python_ids[..3], "message ids come through");

    // The app adds a turn; Python still reads its own types, and the app's messages, in order.
    let turn = chat(&db, &ada, "I want to be able to garden again");
    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);
    let classes: Vec<&str> =
        read["messages"].as_array().unwrap().iter().map(|m| m["class"].as_str().unwrap()).collect();
    assert_eq!(
        classes,
        [
            "langchain_core.messages.human.HumanMessage",
            "langchain_core.messages.ai.AIMessage",
            "langchain_core.messages.tool.ToolMessage",
            "__main__.ClinicianNote",
            "langchain_core.messages.ai.AIMessage",
            "langchain_core.messages.human.HumanMessage",
            "langchain_core.messages.ai.AIMessage",
        ]
    );
    let messages = python_messages(&read);
    assert_eq!(messages[5], ("human".into(), "I want to be able to garden again".into()));
    assert_eq!(messages[6], ("ai".into(), turn["reply"].as_str().unwrap().to_string()));
    assert_eq!(
        read["messages"][1]["tool_calls"][0]["id"],
        json!("call_options_1"),
        "the tool call survives the app's write"
    );
    assert_eq!(read["channels"]["care_plan"], json!("__main__.CarePlan"), "channels the app does not use are kept");
    let total = listed_checkpoints(&read).len();
    assert_linear_chain(&read, total);
    assert_eq!(history(&db, &ada).len(), 7);
}

#[test]
fn store_items_read_back_on_the_other_side() {
    let python = python_or_skip!("store_items_read_back_on_the_other_side");
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let namespace = app::store::user_memories(ada.user_id);
    let mut client = db.connect();

    // Python writes, Rust reads.
    let put =
        python.run(&["store-put", db.url(), &ada.memories(), "from-python", r#"{"text": "walks the dog", "n": 2}"#]);
    assert_eq!(put["item"]["namespace"], json!(["users", ada.user_id.to_string(), "memories"]));
    let item = app::store::get(&mut client, &namespace, "from-python").unwrap().expect("the item Python wrote");
    assert_eq!(item.value, json!({"text": "walks the dog", "n": 2}));
    assert_eq!(item.namespace, namespace);

    // Rust writes (directly, and through a chat turn's memory), Python reads.
    app::store::put(&mut client, &namespace, "from-rust", &json!({"text": "prefers tablets", "tags": ["a", "b"]}))
        .unwrap();
    let got = python.run(&["store-get", db.url(), &ada.memories(), "from-rust"]);
    assert_eq!(got["item"]["value"], json!({"text": "prefers tablets", "tags": ["a", "b"]}));
    assert_eq!(got["item"]["namespace"], json!(["users", ada.user_id.to_string(), "memories"]));
    let turn = chat(&db, &ada, "Climbing stairs is the hardest part");
    let memory_key = turn["memory_key"].as_str().expect("the chat turn stored a memory");

    let found = python.run(&["store-search", db.url(), &format!("users.{}", ada.user_id)]);
    let mut keys: Vec<&str> = found["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    keys.sort();
    let mut expected = vec!["from-python", "from-rust", memory_key];
    expected.sort();
    assert_eq!(keys, expected);
    let memory = found["items"].as_array().unwrap().iter().find(|i| i["key"] == json!(memory_key)).unwrap();
    assert_eq!(memory["value"]["statement"], json!("Climbing stairs is the hardest part"));
    assert_eq!(memory["value"]["conversation_id"], json!(ada.conversation_id));

    // Rust searching the namespace sees all three, Python's included.
    let mut rust_keys: Vec<String> =
        app::store::search(&mut client, &namespace).unwrap().into_iter().map(|i| i.key).collect();
    rust_keys.sort();
    assert_eq!(rust_keys, expected);
    assert_eq!(python.run(&["store-get", db.url(), &ada.memories(), "nothing-here"])["item"], Value::Null);
}

// --- 4. Deleting from Rust leaves nothing for Python -------------------------------------------

#[test]
fn deleting_a_conversation_or_a_user_leaves_python_nothing() {
    let python = python_or_skip!("deleting_a_conversation_or_a_user_leaves_python_nothing");
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let bob = onboard(&db, "bob@example.org");
    // Ada's conversation: written by Python (with pending writes), then by the app.
    python.run(&["write-thread", db.url(), &ada.thread_id]);
    chat(&db, &ada, "Climbing stairs is the hardest part");
    python.run(&["store-put", db.url(), &ada.memories(), "python-note", r#"{"text": "from the agent"}"#]);
    python.run(&["store-put", db.url(), &format!("users.{}.preferences", ada.user_id), "tone", r#"{"tone": "brief"}"#]);
    // Bob's: written by the app, resumed by Python.
    chat(&db, &bob, "I tried physio last year");
    python.run(&["resume", db.url(), &bob.thread_id, "Anything else?"]);
    python.run(&["store-put", db.url(), &bob.memories(), "python-note", r#"{"text": "bob's"}"#]);

    let before = python.run(&["thread-exists", db.url(), &ada.thread_id]);
    assert_eq!(before["exists"], json!(true));
    assert!(before["rows"]["checkpoint_writes"].as_i64().unwrap() > 0, "Python left pending writes: {before}");

    // Deleting Ada's conversation removes its thread, blobs and writes, and its memories.
    let deleted = sdm(&db, &["conversation", "delete", &ada.conversation()]);
    assert_eq!(deleted["thread_id"], json!(ada.thread_id));
    let after = python.run(&["thread-exists", db.url(), &ada.thread_id]);
    assert_eq!(
        after,
        json!({"thread_id": ada.thread_id, "exists": false, "checkpoints_listed": 0,
               "rows": {"checkpoints": 0, "checkpoint_blobs": 0, "checkpoint_writes": 0}})
    );
    let left = python.run(&["namespace-items", db.url(), &ada.memories()]);
    let keys: Vec<&str> =
        left[ada.memories()]["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["python-note"], "the conversation's memories go; the user's other memories stay");

    // Deleting Ada removes every namespace under users.<id>, whoever wrote it.
    let ada_root = format!("users.{}", ada.user_id);
    assert_eq!(
        python.run(&["namespace-items", db.url(), &ada_root])[&ada_root]["namespaces"].as_array().unwrap().len(),
        2
    );
    sdm(&db, &["user", "delete", "--email", &ada.email]);
    let left = python.run(&["namespace-items", db.url(), &ada_root]);
    assert_eq!(left[&ada_root], json!({"items": [], "namespaces": []}));

    // Deleting Bob (conversation and all) leaves nothing of his thread either.
    sdm(&db, &["user", "delete", "--email", &bob.email]);
    let gone = python.run(&["thread-exists", db.url(), &bob.thread_id]);
    assert_eq!(gone["exists"], json!(false));
    assert_eq!(gone["rows"], json!({"checkpoints": 0, "checkpoint_blobs": 0, "checkpoint_writes": 0}));
    let bob_root = format!("users.{}", bob.user_id);
    assert_eq!(
        python.run(&["namespace-items", db.url(), &bob_root])[&bob_root],
        json!({"items": [], "namespaces": []})
    );
    let err = python.run_failing(&["read-thread", db.url(), &bob.thread_id]);
    assert!(err.contains(&format!("thread {} has no checkpoint", bob.thread_id)), "{err}");
}

#[test]
fn deleting_one_user_leaves_another_users_rows_alone() {
    let python = python_or_skip!("deleting_one_user_leaves_another_users_rows_alone");
    let db = test_database();
    // Store prefixes are text: users.1 is a prefix of users.10. Only whole labels may match.
    let first = onboard(&db, "first@example.org");
    let mut n = 0;
    let shares_prefix = loop {
        n += 1;
        assert!(n < 200, "no user id that starts with {} after {n} users", first.user_id);
        let other = onboard(&db, &format!("p{n}@example.org"));
        if other.user_id.to_string().starts_with(&first.user_id.to_string()) {
            break other;
        }
    };
    for p in [&first, &shares_prefix] {
        chat(&db, p, "Climbing stairs is the hardest part");
        python.run(&["store-put", db.url(), &p.memories(), "note", r#"{"text": "kept"}"#]);
    }

    sdm(&db, &["user", "delete", "--email", &first.email]);

    let survivor = python.run(&["read-thread", db.url(), &shares_prefix.thread_id]);
    assert_eq!(python_messages(&survivor).len(), 2);
    let root = format!("users.{}", shares_prefix.user_id);
    let items = python.run(&["namespace-items", db.url(), &root]);
    assert_eq!(items[&root]["items"].as_array().unwrap().len(), 2, "{items}");
    let gone = format!("users.{}", first.user_id);
    assert_eq!(python.run(&["namespace-items", db.url(), &gone])[&gone], json!({"items": [], "namespaces": []}));
}

// --- 5. Ids and versions follow LangGraph's conventions ----------------------------------------

#[test]
fn checkpoint_ids_and_channel_versions_follow_langgraph() {
    let python = python_or_skip!("checkpoint_ids_and_channel_versions_follow_langgraph");
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let written = python.run(&["write-thread", db.url(), &ada.thread_id]);
    let python_ids: Vec<(String, i64)> = listed_checkpoints(&written);

    // Several app turns right after Python's, faster than a clock tick apart.
    let mut app_ids = Vec::new();
    for message in ["one", "two", "three"] {
        app_ids.push(chat(&db, &ada, message)["checkpoint_id"].as_str().unwrap().to_string());
    }
    for id in &app_ids {
        for (python_id, _) in &python_ids {
            assert!(id > python_id, "app checkpoint {id} must sort after Python's {python_id}");
        }
    }
    assert!(app_ids.windows(2).all(|w| w[0] < w[1]), "app ids sort in write order: {app_ids:?}");

    // Python resumes after the app, and the app after Python: ids keep sorting in chain order.
    python.run(&["resume", db.url(), &ada.thread_id, "back to Python"]);
    let last = chat(&db, &ada, "and back to the app")["checkpoint_id"].as_str().unwrap().to_string();
    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);
    assert_eq!(read["checkpoint_id"], json!(last));
    let listed = listed_checkpoints(&read);
    assert_linear_chain(&read, listed.len());
    for (id, step) in &listed {
        assert_langgraph_id(id, *step);
    }
    let steps: Vec<i64> = listed.iter().rev().map(|(_, step)| *step).collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "steps grow along the chain: {steps:?}");

    // Every channel version, whoever wrote it, is LangGraph's format; the counter only grows.
    let counters: Vec<u64> = version_counters(&read, "messages").into_iter().rev().collect();
    assert!(counters.windows(2).all(|w| w[0] <= w[1]), "messages versions never go back along the chain: {counters:?}");
    assert!(counters.first() < counters.last(), "{counters:?}");
    for channel in read["channel_versions"].as_object().unwrap().keys() {
        version_counters(&read, channel);
    }
}

#[test]
fn app_checkpoints_follow_a_python_host_whose_clock_runs_ahead() {
    let python = python_or_skip!("app_checkpoints_follow_a_python_host_whose_clock_runs_ahead");
    let db = test_database();
    let ada = onboard(&db, "ada@example.org");
    let written = python.run(&["write-thread", db.url(), &ada.thread_id, "--clock-ahead", "3600"]);
    let newest_python = listed_checkpoints(&written)[0].0.clone();

    let first = chat(&db, &ada, "one");
    let second = chat(&db, &ada, "two");
    let (first_id, second_id) = (first["checkpoint_id"].as_str().unwrap(), second["checkpoint_id"].as_str().unwrap());
    assert!(first_id > newest_python.as_str(), "{first_id} must sort after Python's {newest_python}");
    assert!(second_id > first_id, "{second_id} must sort after {first_id}");

    // Otherwise get_tuple() would still return Python's checkpoint and the app's turns would vanish.
    let read = python.run(&["read-thread", db.url(), &ada.thread_id]);
    assert_eq!(read["checkpoint_id"], json!(second_id));
    let messages = python_messages(&read);
    assert_eq!(messages.len(), 9);
    assert_eq!(messages[7], ("human".to_string(), "two".to_string()));
    assert_eq!(messages[8], ("ai".to_string(), second["reply"].as_str().unwrap().to_string()));
    assert_linear_chain(&read, listed_checkpoints(&written).len() + 2);
}
