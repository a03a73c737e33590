"""Reads the set-up steps of the installed LangGraph Postgres library, for `cargo xtask langgraph`.

Usage: python langgraph_migrations.py describe EMPTY_DATABASE_URL
       python langgraph_migrations.py setup DATABASE_URL
       python langgraph_migrations.py serve

describe prints one JSON document:
  versions      every installed distribution's version, by normalised name
  checkpointer  PostgresSaver.MIGRATIONS: step v is item v, as setup() runs it
  store         PostgresStore.MIGRATIONS
  vector        PostgresStore.VECTOR_MIGRATIONS: {sql, params, conditional} per step; setup()
                runs them only with an index config (they need pgvector)
  reference     what both setup()s create on EMPTY_DATABASE_URL, as pg_dump prints it (the
                text langgraph_reference.py writes; PG_DUMP picks the pg_dump binary)
setup runs both setup()s on DATABASE_URL and prints the steps each records:
  {"checkpoint_migrations": [0, 1, ...], "store_migrations": [0, ...]}

On failure it prints `error: ...` to stderr and exits 1.

serve runs the same commands for one long-lived caller (`cargo xtask langgraph` and its tests),
paying the library's import time (about 0.3 s of CPU) once. It writes `{"ready": true}` when it
has loaded, then reads one request per line on stdin,
  {"cmd": "setup", "args": ["DATABASE_URL"], "env": {"PG_DUMP": "...", "PGPASSWORD": "..."}}
(args as on the command line; env set for that request only, so a password never needs to be
on a command line), and writes one response per line on stdout: {"ok": true, "result": DOCUMENT}
or {"ok": false, "error": "what went wrong"}. It exits when stdin closes.
"""

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any, NoReturn

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.store.postgres import PostgresStore

from langgraph_reference import ReferenceError, reference_schema


class Failure(Exception):
    """What a command reports as `error: ...`."""


def fail(message: str) -> NoReturn:
    raise Failure(message)


def installed_versions() -> dict[str, str]:
    versions = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            versions[re.sub(r"[-_.]+", "-", name).lower()] = dist.version
    return versions


def plain_steps(owner: type, attribute: str) -> list[str]:
    steps = getattr(owner, attribute, None)
    if steps is None:
        fail(f"{owner.__name__}.{attribute} is missing: this library release sets up its tables another way")
    plain = []
    for v, step in enumerate(steps):
        if isinstance(step, str):
            plain.append(step)
        elif getattr(step, "params", None) is None and getattr(step, "condition", None) is None:
            plain.append(step.sql)
        else:
            fail(f"{owner.__name__}.{attribute}[{v}] takes parameters or a condition: it cannot be a fixed migration")
    return plain


def vector_steps() -> list[dict[str, Any]]:
    return [
        {
            "sql": step.sql,
            "params": sorted(step.params or {}),
            "conditional": step.condition is not None,
        }
        for step in getattr(PostgresStore, "VECTOR_MIGRATIONS", [])
    ]


def describe(url: str) -> dict[str, Any]:
    try:
        reference = reference_schema(url)
    except ReferenceError as e:
        fail(str(e))
    return {
        "versions": installed_versions(),
        "checkpointer": plain_steps(PostgresSaver, "MIGRATIONS"),
        "store": plain_steps(PostgresStore, "MIGRATIONS"),
        "vector": vector_steps(),
        "reference": reference,
    }


def recorded_steps(url: str) -> dict[str, list[int]]:
    with psycopg.connect(url) as conn:
        return {
            table: [r[0] for r in conn.execute(f"SELECT v FROM {table} ORDER BY v").fetchall()]
            for table in ("checkpoint_migrations", "store_migrations")
        }


def setup(url: str) -> dict[str, list[int]]:
    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
    with PostgresStore.from_conn_string(url) as store:
        store.setup()
    return recorded_steps(url)


COMMANDS = {"describe": describe, "setup": setup}


def run(command: str, url: str) -> Any:
    """Runs one command; raises Failure with what went wrong."""
    try:
        return COMMANDS[command](url)
    except psycopg.Error as e:
        raise Failure(f"{command}: {e}") from e


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """Sets `env` (PG_DUMP, PGPASSWORD: libpq and pg_dump read them) for one request."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def handle(line: str) -> dict[str, Any]:
    """Runs one `serve` request and returns its response."""
    try:
        request = json.loads(line)
        command, args, env = request["cmd"], request["args"], request.get("env", {})
        if command not in COMMANDS or len(args) != 1 or not isinstance(args[0], str) or not isinstance(env, dict):
            raise Failure('expected {"cmd": "describe" or "setup", "args": [URL], "env": {...}}')
        with environment({str(k): str(v) for k, v in env.items()}):
            return {"ok": True, "result": run(command, args[0])}
    except Failure as e:
        return {"ok": False, "error": str(e)}
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        # Not the line itself: it may hold a password.
        return {"ok": False, "error": f"not a request ({type(e).__name__}: {e})"}
    except Exception as e:  # the library's own errors, with their type
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def serve() -> int:
    """Answers JSON-line requests on stdin until it closes."""
    responses = sys.stdout
    # Whatever the library prints must not land between responses.
    sys.stdout = sys.stderr
    sys.stdin.reconfigure(encoding="utf-8")

    def respond(response: dict[str, Any]) -> None:
        responses.write(json.dumps(response) + "\n")
        responses.flush()

    respond({"ready": True})
    for line in iter(sys.stdin.readline, ""):
        if line.strip():
            respond(handle(line))
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["serve"]:
        return serve()
    if len(argv) != 3 or argv[1] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        result = run(argv[1], argv[2])
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
