"""Drives the real LangGraph library against the SDM database, for the Rust interop tests.

Usage: python interop.py COMMAND DATABASE_URL ARGS...
       python interop.py serve

Every command prints one JSON document to stdout and exits 0; on failure it prints
`error: COMMAND: what went wrong` to stderr and exits 1. Commands:

  setup URL                         run PostgresSaver.setup() and PostgresStore.setup()
  read-thread URL THREAD_ID         latest checkpoint's messages, and the checkpoint chain
  resume URL THREAD_ID MESSAGE      add a turn to a thread with a compiled StateGraph
  write-thread URL THREAD_ID        write a fresh thread with a Python graph (tool calls,
                                    a ToolMessage, a custom message class, a custom object)
                                    (resume and write-thread take --clock-ahead SECONDS: make
                                    checkpoint ids as a host whose clock runs ahead would; and
                                    --stock: use PostgresSaver as it ships, not SharedThreadSaver)
  store-put URL NAMESPACE KEY JSON  put a store item; NAMESPACE is dotted: users.7.memories
  store-get URL NAMESPACE KEY       get one store item (null when missing)
  store-search URL PREFIX           items under a dotted namespace prefix
  thread-exists URL THREAD_ID       what the library and the tables hold for a thread
  namespace-items URL PREFIX...     items and namespaces under each dotted prefix

`serve` runs the same commands for one long-lived caller, paying the library's import time once.
It writes `{"ready": true}` when it has loaded, then reads one request per line on stdin,
`{"cmd": "read-thread", "args": ["postgresql://...", "THREAD_ID"]}` (args as on the command
line), and writes one response per line on stdout: `{"ok": true, "result": DOCUMENT}` or
`{"ok": false, "error": "COMMAND: what went wrong"}`. It exits when stdin closes.
"""

import argparse
import json
import sys
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, NoReturn

import psycopg
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.base import id as checkpoint_ids
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.store.postgres import PostgresStore
from psycopg.rows import dict_row
from pydantic import BaseModel


class CommandError(Exception):
    """A failure to report as `error: COMMAND: message`."""


# --- types the Rust app does not know --------------------------------------------------------


class ClinicianNote(BaseMessage):
    """A message class of this script's own, stored by LangGraph under this module's name."""

    type: Literal["clinician_note"] = "clinician_note"


class CarePlan(BaseModel):
    """A custom object in its own state channel."""

    option: str
    reasons: list[str]


class TriageState(MessagesState):
    care_plan: CarePlan | None


# LangGraph's own types plus ours: reading them back needs no permissive mode and logs nothing.
SERDE = JsonPlusSerializer(allowed_msgpack_modules=[ClinicianNote, CarePlan])


class SharedThreadSaver(PostgresSaver):
    """PostgresSaver whose versions follow the thread's own: Python's strings, or numbers on a
    thread LangGraph.js started (the stock saver writes a string there, and the next comparison
    of a string with a number raises TypeError)."""

    def get_next_version(self, current: str | int | None, channel: None = None) -> str | int:
        if isinstance(current, int) and not isinstance(current, bool):
            return current + 1
        return super().get_next_version(current, channel)


@contextmanager
def checkpointer(url: str, stock: bool = False) -> Iterator[PostgresSaver]:
    """Opens a SharedThreadSaver (with `stock`, the library's PostgresSaver) the way
    PostgresSaver.from_conn_string does, with SERDE."""
    saver = PostgresSaver if stock else SharedThreadSaver
    with psycopg.Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        yield saver(conn, serde=SERDE)


# --- output ----------------------------------------------------------------------------------


def class_name(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def message_json(message: Any) -> dict[str, Any]:
    if not isinstance(message, BaseMessage):
        # What the serializer gave back for something it could not rebuild.
        return {"type": None, "class": class_name(message), "content": None, "value": repr(message)}
    out: dict[str, Any] = {
        "type": message.type,
        "class": class_name(message),
        "content": message.content,
        "id": message.id,
    }
    if isinstance(message, AIMessage) and message.tool_calls:
        out["tool_calls"] = [{"name": c["name"], "args": c["args"], "id": c["id"]} for c in message.tool_calls]
    if isinstance(message, ToolMessage):
        out["tool_call_id"] = message.tool_call_id
        out["name"] = message.name
    return out


def messages_json(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [message_json(m) for m in values.get("messages") or []]


def item_json(item: Any) -> dict[str, Any]:
    return {
        "namespace": list(item.namespace),
        "key": item.key,
        "value": item.value,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


def emit(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def namespace(dotted: str) -> tuple[str, ...]:
    parts = tuple(dotted.split("."))
    if not dotted or any(not p for p in parts):
        raise CommandError(f"namespace {dotted!r} has an empty part: write it dotted, e.g. users.7.memories")
    return parts


def thread_config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


@contextmanager
def clock_ahead(seconds: float) -> Iterator[None]:
    """Makes LangGraph's uuid6 checkpoint ids read a clock `seconds` ahead of this host's, inside the block."""
    if not seconds:
        yield
        return
    real_time_ns = time.time_ns
    checkpoint_ids.time = types.SimpleNamespace(time_ns=lambda: real_time_ns() + int(seconds * 1e9))
    try:
        yield
    finally:
        # `serve` runs later commands in this process: they must see the host's own clock.
        checkpoint_ids.time = time


# --- commands --------------------------------------------------------------------------------


def migration_versions(url: str) -> dict[str, list[int]]:
    with psycopg.connect(url) as conn:
        return {
            table: [r[0] for r in conn.execute(f"SELECT v FROM {table} ORDER BY v")]
            for table in ("checkpoint_migrations", "store_migrations")
        }


def cmd_setup(args: argparse.Namespace) -> Any:
    with checkpointer(args.url) as saver:
        saver.setup()
    with PostgresStore.from_conn_string(args.url) as store:
        store.setup()
    return migration_versions(args.url)


def checkpoint_chain(saver: PostgresSaver, thread_id: str) -> dict[str, Any]:
    listed = list(saver.list(thread_config(thread_id)))
    checkpoints = [
        {
            "id": t.checkpoint["id"],
            "parent_id": t.parent_config["configurable"]["checkpoint_id"] if t.parent_config else None,
            "step": t.metadata.get("step"),
            "source": t.metadata.get("source"),
            "message_count": len(t.checkpoint["channel_values"].get("messages") or []),
            "channel_versions": t.checkpoint["channel_versions"],
        }
        for t in listed
    ]
    # Walk parent links from the newest checkpoint, the way LangGraph's history does.
    by_id = {c["id"]: c for c in checkpoints}
    chain: list[str] = []
    current = checkpoints[0]["id"] if checkpoints else None
    while current is not None and current in by_id and current not in chain:
        chain.append(current)
        current = by_id[current]["parent_id"]
    return {
        "checkpoints": checkpoints,
        "chain": chain,
        "chain_complete": current is None and len(chain) == len(checkpoints),
    }


def cmd_read_thread(args: argparse.Namespace) -> Any:
    with checkpointer(args.url) as saver:
        latest = saver.get_tuple(thread_config(args.thread_id))
        if latest is None:
            raise CommandError(f"thread {args.thread_id} has no checkpoint")
        values = latest.checkpoint["channel_values"]
        return {
            "thread_id": args.thread_id,
            "checkpoint_id": latest.checkpoint["id"],
            "checkpoint_version": latest.checkpoint.get("v"),
            "messages": messages_json(values),
            "channels": {k: class_name(v) for k, v in values.items()},
            "channel_versions": latest.checkpoint["channel_versions"],
            "metadata": latest.metadata,
            **checkpoint_chain(saver, args.thread_id),
        }


def echo_assistant(state: MessagesState) -> dict[str, Any]:
    """Answers deterministically, so tests can assert on the reply."""
    last = state["messages"][-1]
    return {"messages": [AIMessage(content=f"Python heard: {last.content}")]}


def cmd_resume(args: argparse.Namespace) -> Any:
    graph = StateGraph(MessagesState)
    graph.add_node("assistant", echo_assistant)
    graph.add_edge(START, "assistant")
    graph.add_edge("assistant", END)
    with clock_ahead(args.clock_ahead), checkpointer(args.url, args.stock) as saver:
        before = saver.get_tuple(thread_config(args.thread_id))
        if before is None:
            raise CommandError(f"thread {args.thread_id} has no checkpoint to resume")
        app = graph.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": args.thread_id}}
        result = app.invoke({"messages": [HumanMessage(content=args.message)]}, config)
        after = saver.get_tuple(thread_config(args.thread_id))
        return {
            "thread_id": args.thread_id,
            "checkpoint_id_before": before.checkpoint["id"],
            "checkpoint_id_after": after.checkpoint["id"],
            "messages": messages_json(result),
            **checkpoint_chain(saver, args.thread_id),
        }


def triage_intake(state: TriageState) -> dict[str, Any]:
    return {
        "messages": [
            AIMessage(
                content="Let me look up the options for your journey.",
                tool_calls=[{"name": "lookup_options", "args": {"journey": "knee"}, "id": "call_options_1"}],
            )
        ]
    }


def triage_tools(state: TriageState) -> dict[str, Any]:
    return {
        "messages": [
            ToolMessage(content="physio, injection, surgery", tool_call_id="call_options_1", name="lookup_options"),
            ClinicianNote(content="Patient prefers to avoid surgery."),
        ]
    }


def triage_answer(state: TriageState) -> dict[str, Any]:
    return {
        "messages": [AIMessage(content="Physiotherapy is a good first option for you.")],
        "care_plan": CarePlan(option="physio", reasons=["avoid surgery", "stairs"]),
    }


def cmd_write_thread(args: argparse.Namespace) -> Any:
    graph = StateGraph(TriageState)
    graph.add_node("intake", triage_intake)
    graph.add_node("tools", triage_tools)
    graph.add_node("answer", triage_answer)
    graph.add_edge(START, "intake")
    graph.add_edge("intake", "tools")
    graph.add_edge("tools", "answer")
    graph.add_edge("answer", END)
    with clock_ahead(args.clock_ahead), checkpointer(args.url, args.stock) as saver:
        if saver.get_tuple(thread_config(args.thread_id)) is not None:
            raise CommandError(f"thread {args.thread_id} already has checkpoints: pass a fresh thread id")
        app = graph.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": args.thread_id}}
        result = app.invoke({"messages": [HumanMessage(content="My knee hurts when I climb stairs.")]}, config)
        return {
            "thread_id": args.thread_id,
            "messages": messages_json(result),
            "care_plan": result["care_plan"].model_dump(),
            **checkpoint_chain(saver, args.thread_id),
        }


def cmd_store_put(args: argparse.Namespace) -> Any:
    try:
        value = json.loads(args.value)
    except json.JSONDecodeError as e:
        raise CommandError(f"value is not JSON ({e}): pass a JSON object, e.g. '{{\"text\": \"...\"}}'") from e
    if not isinstance(value, dict):
        raise CommandError("value must be a JSON object: LangGraph store items are dicts")
    with PostgresStore.from_conn_string(args.url) as store:
        store.put(namespace(args.namespace), args.key, value)
        return {"item": item_json(store.get(namespace(args.namespace), args.key))}


def cmd_store_get(args: argparse.Namespace) -> Any:
    with PostgresStore.from_conn_string(args.url) as store:
        item = store.get(namespace(args.namespace), args.key)
        return {"item": item_json(item) if item is not None else None}


def cmd_store_search(args: argparse.Namespace) -> Any:
    with PostgresStore.from_conn_string(args.url) as store:
        items = store.search(namespace(args.prefix), limit=10_000)
        return {"items": [item_json(i) for i in items]}


def cmd_thread_exists(args: argparse.Namespace) -> Any:
    with checkpointer(args.url) as saver:
        latest = saver.get_tuple(thread_config(args.thread_id))
        listed = list(saver.list({"configurable": {"thread_id": args.thread_id}}))
    with psycopg.connect(args.url) as conn:
        rows = {
            table: conn.execute(f"SELECT count(*) FROM {table} WHERE thread_id = %s", (args.thread_id,)).fetchone()[0]
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
        }
    return {
        "thread_id": args.thread_id,
        "exists": latest is not None,
        "checkpoints_listed": len(listed),
        "rows": rows,
    }


def cmd_namespace_items(args: argparse.Namespace) -> Any:
    out: dict[str, Any] = {}
    with PostgresStore.from_conn_string(args.url) as store:
        for prefix in args.prefixes:
            ns = namespace(prefix)
            out[prefix] = {
                "items": [item_json(i) for i in store.search(ns, limit=10_000)],
                "namespaces": [".".join(n) for n in store.list_namespaces(prefix=ns, limit=10_000)],
            }
    return out


class RequestParser(argparse.ArgumentParser):
    """Parses a `serve` request's command line: a bad one fails that request, not the server."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{message} (usage: {self.format_usage().strip().removeprefix('usage: ')})")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise CommandError(message.strip() if message else "--help and the like are for the command line")


def parser(cls: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = cls(prog="interop.py", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, run: Any, *params: str, nargs: dict[str, str] | None = None) -> argparse.ArgumentParser:
        c = sub.add_parser(name)
        c.add_argument("url", metavar="DATABASE_URL")
        for param in params:
            c.add_argument(param, nargs=(nargs or {}).get(param))
        c.set_defaults(run=run)
        return c

    clock_help = "make checkpoint ids as a host whose clock runs SECONDS ahead would"

    command("setup", cmd_setup)
    command("read-thread", cmd_read_thread, "thread_id")
    for graph_command in (
        command("resume", cmd_resume, "thread_id", "message"),
        command("write-thread", cmd_write_thread, "thread_id"),
    ):
        graph_command.add_argument("--clock-ahead", type=float, default=0.0, metavar="SECONDS", help=clock_help)
        graph_command.add_argument("--stock", action="store_true", help="use the library's PostgresSaver as it ships")
    command("store-put", cmd_store_put, "namespace", "key", "value")
    command("store-get", cmd_store_get, "namespace", "key")
    command("store-search", cmd_store_search, "prefix")
    command("thread-exists", cmd_thread_exists, "thread_id")
    command("namespace-items", cmd_namespace_items, "prefixes", nargs={"prefixes": "+"})
    if cls is argparse.ArgumentParser:
        sub.add_parser("serve", help="run commands sent as JSON lines on stdin (see the module docstring)")
    return p


def failure(command: str, error: Exception) -> str:
    """Says what went wrong: our own messages as they are, the library's errors with their type."""
    if isinstance(error, CommandError):
        return f"{command}: {error}"
    return f"{command}: {type(error).__name__}: {error}"


def handle(line: str, requests: argparse.ArgumentParser) -> dict[str, Any]:
    """Runs one `serve` request and returns its response."""
    command = "request"
    try:
        try:
            request = json.loads(line)
        except json.JSONDecodeError as e:
            raise CommandError(f"not JSON ({e}): send one {{\"cmd\": ..., \"args\": [...]}} object per line") from e
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            raise CommandError('expected {"cmd": "COMMAND", "args": ["DATABASE_URL", ...]}')
        command = request["cmd"]
        args = request.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise CommandError("args must be a list of strings, as on the command line")
        parsed = requests.parse_args([command, *args])
        # A fresh process starts without a last checkpoint-id timestamp; each request does too,
        # so one request's ids (e.g. --clock-ahead ones) never push the next request's ahead.
        checkpoint_ids._last_v6_timestamp = None
        return {"ok": True, "result": parsed.run(parsed)}
    except Exception as e:
        return {"ok": False, "error": failure(command, e)}


def serve() -> int:
    """Answers JSON-line requests on stdin until it closes."""
    responses = sys.stdout
    # Whatever the library prints must not land between responses.
    sys.stdout = sys.stderr
    sys.stdin.reconfigure(encoding="utf-8")
    requests = parser(RequestParser)

    def respond(response: dict[str, Any]) -> None:
        try:
            text = json.dumps(response, default=str)
        except (TypeError, ValueError) as e:
            text = json.dumps({"ok": False, "error": f"the result is not JSON: {e}"})
        responses.write(text + "\n")
        responses.flush()

    respond({"ready": True})
    for line in iter(sys.stdin.readline, ""):
        if line.strip():
            respond(handle(line, requests))
    return 0


def main() -> int:
    args = parser().parse_args()
    if args.command == "serve":
        return serve()
    try:
        emit(args.run(args))
    except Exception as e:  # ours as they are; the library's own errors with their type
        print(f"error: {failure(args.command, e)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
