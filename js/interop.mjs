// Drives the real LangGraph.js libraries (js/package.json) against the SDM database, for the
// Rust interop tests: the JavaScript side of what python/interop.py does for Python.
//
// Usage: node js/interop.mjs COMMAND DATABASE_URL ARGS...
//        node js/interop.mjs serve
//
// Every command prints one JSON document to stdout and exits 0; on failure it prints
// `error: COMMAND: what went wrong` to stderr and exits 1. Commands:
//
//   setup URL                       run the JS PostgresSaver.setup()
//   read-thread URL THREAD_ID       latest checkpoint's messages, and the checkpoint chain
//   resume URL THREAD_ID MESSAGE    add a turn to a thread with a compiled StateGraph
//   write-thread URL THREAD_ID      write a fresh thread with a JS graph (a tool call, a
//                                   ToolMessage, an answer)
//   store-setup URL SCHEMA          run the JS PostgresStore.setup() in SCHEMA
//   store-put URL SCHEMA NAMESPACE KEY JSON, store-get URL SCHEMA NAMESPACE KEY
//                                   the JS store in SCHEMA; NAMESPACE is dotted: users.7.memories
//
// read-thread, resume and write-thread take --stock: use PostgresSaver exactly as the library
// ships it. Without it they use SharedThreadSaver (below), which continues a thread whose
// channel versions are strings (the app's and Python's) in Python's format; the stock saver
// refuses those ("Please override this method to use string versions.").
//
// `serve` runs the same commands for one long-lived caller, paying the libraries' load time once:
// it writes {"ready": true}, then answers one request per line on stdin,
// {"cmd": "read-thread", "args": ["postgresql://...", "THREAD_ID"]}, with one line on stdout,
// {"ok": true, "result": DOCUMENT} or {"ok": false, "error": "COMMAND: what went wrong"}. It exits
// when stdin closes.

import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

import { AIMessage, BaseMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { PostgresStore } from "@langchain/langgraph-checkpoint-postgres/store";
import pg from "pg";

/** A failure to report as `error: COMMAND: message`, without the library's error type. */
class CommandError extends Error {}

// --- connections -----------------------------------------------------------------------------

/**
 * Returns node-postgres settings for a libpq connection string: a URL as it is, or key=value
 * pairs (`host=/tmp dbname=sdm user=sdm password='it\'s'`), which node-postgres does not parse.
 */
export function connectionConfig(url) {
  if (/^postgres(ql)?:\/\//.test(url)) return { connectionString: url };
  const pairs = {};
  const pattern = /\s*([A-Za-z_]+)\s*=\s*('((?:[^'\\]|\\.)*)'|(\S*))/y;
  let match;
  while (pattern.lastIndex < url.trim().length && (match = pattern.exec(url)) !== null) {
    pairs[match[1]] = match[3] !== undefined ? match[3].replace(/\\(.)/g, "$1") : match[4];
  }
  if (pattern.lastIndex < url.trim().length) {
    throw new CommandError("DATABASE_URL is neither a postgres:// URL nor key=value pairs");
  }
  const config = {};
  for (const [key, value] of Object.entries(pairs)) {
    const name = { dbname: "database", hostaddr: "host" }[key] ?? key;
    if (["host", "port", "user", "password", "database"].includes(name)) config[name] = value;
  }
  return config;
}

function pool(url) {
  return new pg.Pool(connectionConfig(url));
}

// --- channel versions --------------------------------------------------------------------------

/** Returns Python's PostgresSaver.get_next_version after `current`: "{n:032}.{random:016}". */
function pythonNextVersion(current) {
  const n = Number.parseInt(String(current).split(".")[0], 10) + 1;
  // In [1e-4, 1): Python and JavaScript print those floats alike, without an exponent.
  const fraction = 1e-4 + Math.random() * (1 - 1e-4);
  return `${String(n).padStart(32, "0")}.${String(fraction).padStart(16, "0")}`;
}

/**
 * PostgresSaver whose versions follow the thread's own: numbers on a thread JavaScript started,
 * Python's strings on a thread the app or Python started (the stock saver throws on those).
 */
export class SharedThreadSaver extends PostgresSaver {
  getNextVersion(current) {
    return typeof current === "string" ? pythonNextVersion(current) : super.getNextVersion(current);
  }
}

function checkpointer(url, stock) {
  return stock ? new PostgresSaver(pool(url)) : new SharedThreadSaver(pool(url));
}

async function withSaver(url, stock, run) {
  const saver = checkpointer(url, stock);
  try {
    return await run(saver);
  } finally {
    await saver.end();
  }
}

// --- output ------------------------------------------------------------------------------------

function messageJson(message) {
  if (!(message instanceof BaseMessage)) {
    return { type: null, class: message?.constructor?.name ?? typeof message, content: null, value: message };
  }
  const out = {
    type: message.getType(),
    class: [...message.lc_namespace, message.constructor.lc_name()].join("."),
    content: message.content,
    id: message.id ?? null,
  };
  if (message instanceof AIMessage && message.tool_calls?.length) {
    out.tool_calls = message.tool_calls.map((c) => ({ name: c.name, args: c.args, id: c.id }));
  }
  if (message instanceof ToolMessage) {
    out.tool_call_id = message.tool_call_id;
    out.name = message.name ?? null;
  }
  return out;
}

function messagesJson(values) {
  return (values?.messages ?? []).map(messageJson);
}

function threadConfig(threadId) {
  return { configurable: { thread_id: threadId, checkpoint_ns: "" } };
}

async function checkpointChain(saver, threadId) {
  const checkpoints = [];
  for await (const t of saver.list(threadConfig(threadId))) {
    checkpoints.push({
      id: t.checkpoint.id,
      parent_id: t.parentConfig?.configurable?.checkpoint_id ?? null,
      step: t.metadata?.step ?? null,
      source: t.metadata?.source ?? null,
      message_count: (t.checkpoint.channel_values.messages ?? []).length,
      channel_versions: t.checkpoint.channel_versions,
    });
  }
  // Walk parent links from the newest checkpoint, the way LangGraph's history does.
  const byId = new Map(checkpoints.map((c) => [c.id, c]));
  const chain = [];
  let current = checkpoints[0]?.id ?? null;
  while (current !== null && byId.has(current) && !chain.includes(current)) {
    chain.push(current);
    current = byId.get(current).parent_id;
  }
  return { checkpoints, chain, chain_complete: current === null && chain.length === checkpoints.length };
}

// --- commands ----------------------------------------------------------------------------------

async function migrationVersions(url, table) {
  const p = pool(url);
  try {
    return (await p.query(`SELECT v FROM ${table} ORDER BY v`)).rows.map((r) => r.v);
  } finally {
    await p.end();
  }
}

async function cmdSetup({ url }) {
  await withSaver(url, true, (saver) => saver.setup());
  return { checkpoint_migrations: await migrationVersions(url, "checkpoint_migrations") };
}

async function cmdReadThread({ url, args: [threadId], stock }) {
  return withSaver(url, stock, async (saver) => {
    const latest = await saver.getTuple(threadConfig(threadId));
    if (latest === undefined) throw new CommandError(`thread ${threadId} has no checkpoint`);
    const values = latest.checkpoint.channel_values;
    return {
      thread_id: threadId,
      checkpoint_id: latest.checkpoint.id,
      checkpoint_version: latest.checkpoint.v ?? null,
      messages: messagesJson(values),
      channels: Object.keys(values).sort(),
      channel_versions: latest.checkpoint.channel_versions,
      metadata: latest.metadata,
      ...(await checkpointChain(saver, threadId)),
    };
  });
}

/** Answers deterministically, so tests can assert on the reply. */
function echoAssistant(state) {
  const last = state.messages[state.messages.length - 1];
  return { messages: [new AIMessage({ content: `JS heard: ${last.content}` })] };
}

async function cmdResume({ url, args: [threadId, message], stock }) {
  const graph = new StateGraph(MessagesAnnotation)
    .addNode("assistant", echoAssistant)
    .addEdge(START, "assistant")
    .addEdge("assistant", END);
  return withSaver(url, stock, async (saver) => {
    const before = await saver.getTuple(threadConfig(threadId));
    if (before === undefined) throw new CommandError(`thread ${threadId} has no checkpoint to resume`);
    const app = graph.compile({ checkpointer: saver });
    const result = await app.invoke({ messages: [new HumanMessage(message)] }, { configurable: { thread_id: threadId } });
    if (result === undefined) {
      // What the library does when it did not run the graph on the thread's state: say so.
      throw new CommandError(`invoke returned undefined on thread ${threadId}: the graph did not run`);
    }
    const after = await saver.getTuple(threadConfig(threadId));
    return {
      thread_id: threadId,
      checkpoint_id_before: before.checkpoint.id,
      checkpoint_id_after: after.checkpoint.id,
      messages: messagesJson(result),
      ...(await checkpointChain(saver, threadId)),
    };
  });
}

async function cmdWriteThread({ url, args: [threadId], stock }) {
  const graph = new StateGraph(MessagesAnnotation)
    .addNode("intake", () => ({
      messages: [
        new AIMessage({
          content: "Let me look up the options for your journey.",
          tool_calls: [{ name: "lookup_options", args: { journey: "knee" }, id: "call_options_1" }],
        }),
      ],
    }))
    .addNode("tools", () => ({
      messages: [
        new ToolMessage({ content: "physio, injection, surgery", tool_call_id: "call_options_1", name: "lookup_options" }),
      ],
    }))
    .addNode("answer", () => ({ messages: [new AIMessage("Physiotherapy is a good first option for you.")] }))
    .addEdge(START, "intake")
    .addEdge("intake", "tools")
    .addEdge("tools", "answer")
    .addEdge("answer", END);
  return withSaver(url, stock, async (saver) => {
    if ((await saver.getTuple(threadConfig(threadId))) !== undefined) {
      throw new CommandError(`thread ${threadId} already has checkpoints: pass a fresh thread id`);
    }
    const app = graph.compile({ checkpointer: saver });
    const config = { configurable: { thread_id: threadId } };
    const result = await app.invoke({ messages: [new HumanMessage("My knee hurts when I climb stairs.")] }, config);
    return { thread_id: threadId, messages: messagesJson(result), ...(await checkpointChain(saver, threadId)) };
  });
}

function namespace(dotted) {
  const parts = dotted.split(".");
  if (!dotted || parts.some((p) => !p)) {
    throw new CommandError(`namespace ${JSON.stringify(dotted)} has an empty part: write it dotted, e.g. users.7.memories`);
  }
  return parts;
}

async function withStore(url, schema, run) {
  const store = new PostgresStore({ connectionOptions: connectionConfig(url), schema });
  try {
    return await run(store);
  } finally {
    await store.stop();
  }
}

async function cmdStoreSetup({ url, args: [schema] }) {
  await withStore(url, schema, (store) => store.setup());
  return { store_migrations: await migrationVersions(url, `"${schema}".store_migrations`) };
}

function itemJson(item) {
  if (item === null || item === undefined) return null;
  return { namespace: item.namespace, key: item.key, value: item.value };
}

async function cmdStorePut({ url, args: [schema, dotted, key, json] }) {
  let value;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new CommandError(`value is not JSON (${e.message}): pass a JSON object`);
  }
  return withStore(url, schema, async (store) => {
    await store.put(namespace(dotted), key, value);
    return { item: itemJson(await store.get(namespace(dotted), key)) };
  });
}

async function cmdStoreGet({ url, args: [schema, dotted, key] }) {
  return withStore(url, schema, async (store) => ({ item: itemJson(await store.get(namespace(dotted), key)) }));
}

const COMMANDS = {
  setup: { run: cmdSetup, params: [] },
  "read-thread": { run: cmdReadThread, params: ["THREAD_ID"], stock: true },
  resume: { run: cmdResume, params: ["THREAD_ID", "MESSAGE"], stock: true },
  "write-thread": { run: cmdWriteThread, params: ["THREAD_ID"], stock: true },
  "store-setup": { run: cmdStoreSetup, params: ["SCHEMA"] },
  "store-put": { run: cmdStorePut, params: ["SCHEMA", "NAMESPACE", "KEY", "JSON"] },
  "store-get": { run: cmdStoreGet, params: ["SCHEMA", "NAMESPACE", "KEY"] },
};

/** Parses `COMMAND URL ARGS... [--stock]` into the command and what it runs with. */
function parseRequest(argv) {
  const [name, ...rest] = argv;
  const command = COMMANDS[name];
  if (command === undefined) {
    throw new CommandError(`unknown command ${JSON.stringify(name)}; the commands are: ${Object.keys(COMMANDS).join(", ")}`);
  }
  const usage = `usage: interop.mjs ${name} DATABASE_URL ${command.params.join(" ")}${command.stock ? " [--stock]" : ""}`;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: command.stock ? { stock: { type: "boolean", default: false } } : {},
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new CommandError(`${e.message} (${usage})`);
  }
  const [url, ...args] = parsed.positionals;
  if (url === undefined || args.length !== command.params.length) throw new CommandError(usage);
  return { name, run: command.run, options: { url, args, stock: parsed.values.stock ?? false } };
}

/** Says what went wrong: our own messages as they are, the library's errors with their type. */
function failure(name, error) {
  if (error instanceof CommandError) return `${name}: ${error.message}`;
  return `${name}: ${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;
}

async function handle(line) {
  let name = "request";
  try {
    let request;
    try {
      request = JSON.parse(line);
    } catch (e) {
      throw new CommandError(`not JSON (${e.message}): send one {"cmd": ..., "args": [...]} object per line`);
    }
    if (request === null || typeof request !== "object" || typeof request.cmd !== "string") {
      throw new CommandError('expected {"cmd": "COMMAND", "args": ["DATABASE_URL", ...]}');
    }
    name = request.cmd;
    const args = request.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
      throw new CommandError("args must be a list of strings, as on the command line");
    }
    const parsed = parseRequest([name, ...args]);
    return { ok: true, result: await parsed.run(parsed.options) };
  } catch (e) {
    return { ok: false, error: failure(name, e) };
  }
}

async function serve() {
  const respond = (response) => {
    let text;
    try {
      text = JSON.stringify(response);
    } catch (e) {
      text = JSON.stringify({ ok: false, error: `the result is not JSON: ${e.message}` });
    }
    process.stdout.write(`${text}\n`);
  };
  // Whatever the libraries log must not land between responses.
  console.log = console.info = console.warn = console.error;
  // The worker serves many tests, each on a database of its own that is dropped (its sessions
  // terminated, 57P01) when the test ends. A pool a library left open then reports that on an
  // idle connection no command is using: say so and serve on; anything else still ends the worker.
  process.on("uncaughtException", (e) => {
    if (e?.code !== "57P01") throw e;
    process.stderr.write(`interop.mjs: an idle connection of an earlier command was closed: ${e.message}\n`);
  });
  respond({ ready: true });
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line.trim()) respond(await handle(line));
  }
}

async function main(argv) {
  if (argv[0] === "serve") return serve();
  let name = argv[0] ?? "interop.mjs";
  try {
    const parsed = parseRequest(argv);
    name = parsed.name;
    process.stdout.write(`${JSON.stringify(await parsed.run(parsed.options), null, 2)}\n`);
  } catch (e) {
    process.stderr.write(`error: ${failure(name, e)}\n`);
    process.exitCode = 1;
  }
}

// Run as a script; imported (by validate.test.mjs), it only lends its helpers.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
