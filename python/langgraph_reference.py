"""Regenerates the reference schema of LangGraph's Postgres tables from the real library.

Usage: python langgraph_reference.py DATABASE_URL OUTFILE

Runs PostgresSaver.setup() and PostgresStore.setup() on DATABASE_URL, which must be an empty
database, and writes `pg_dump --schema-only` of the tables they create to OUTFILE. pg_dump's
per-run `\\restrict` key lines are left out so the file only changes when the schema does.
Set PG_DUMP to choose the pg_dump binary (default: `pg_dump` on PATH).
`cargo xtask langgraph` does the same on a scratch database of its own (through
langgraph_migrations.py, which imports `reference_schema` from here).
"""

import os
import subprocess
import sys
from typing import NoReturn

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.store.postgres import PostgresStore

# The tables setup() creates, as pg_dump names them.
LANGGRAPH_TABLES = [
    "checkpoint_blobs",
    "checkpoint_migrations",
    "checkpoint_writes",
    "checkpoints",
    "store",
    "store_migrations",
]


class ReferenceError(Exception):
    """Why the reference schema could not be made."""


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def existing_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def without_restrict_key(dump: str) -> str:
    # pg_dump 15.14+ brackets the dump with `\restrict KEY` / `\unrestrict KEY`, KEY random per run.
    lines = dump.splitlines(keepends=True)
    return "".join(l for l in lines if not l.startswith(("\\restrict ", "\\unrestrict ")))


def reference_schema(url: str) -> str:
    """Runs both setup()s on the empty database at `url` and returns pg_dump of their tables."""
    try:
        tables = existing_tables(url)
    except psycopg.Error as e:
        raise ReferenceError(f"cannot connect to the database: {e}") from e
    if tables:
        raise ReferenceError(
            f"the database is not empty ({', '.join(tables[:5])}{' ...' if len(tables) > 5 else ''}):"
            " create an empty one (`createdb NAME`) and pass its URL"
        )
    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
    with PostgresStore.from_conn_string(url) as store:
        store.setup()
    pg_dump = os.environ.get("PG_DUMP", "pg_dump")
    cmd = [pg_dump, "--schema-only", "--dbname", url]
    for table in LANGGRAPH_TABLES:
        cmd += ["--table", f"public.{table}"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise ReferenceError(f"{pg_dump} not found: install the Postgres client tools or set PG_DUMP") from e
    if done.returncode != 0:
        raise ReferenceError(f"pg_dump failed: {done.stderr.strip()}")
    return without_restrict_key(done.stdout)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    url, outfile = argv[1], argv[2]
    try:
        dump = reference_schema(url)
    except ReferenceError as e:
        fail(str(e))
    with open(outfile, "w", encoding="utf-8") as f:
        f.write(dump)
    print(f"wrote {outfile}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
