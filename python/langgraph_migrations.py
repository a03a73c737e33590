"""Reads the set-up steps of the installed LangGraph Postgres library, for `cargo xtask langgraph`.

Usage: python langgraph_migrations.py describe EMPTY_DATABASE_URL
       python langgraph_migrations.py setup DATABASE_URL

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
"""

import json
import re
import sys
from importlib import metadata
from typing import Any, NoReturn

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.store.postgres import PostgresStore

from langgraph_reference import ReferenceError, reference_schema


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


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


def main(argv: list[str]) -> int:
    commands = {"describe": describe, "setup": setup}
    if len(argv) != 3 or argv[1] not in commands:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        result = commands[argv[1]](argv[2])
    except psycopg.Error as e:
        fail(f"{argv[1]}: {e}")
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
