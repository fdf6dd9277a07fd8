"""Copy the ``marts`` schema of the warehouse into the file BI tools read, atomically.

The new file is built beside the published one and swapped in with ``os.replace``: a reader
holding the old file open keeps reading the old inode, and nobody ever sees a half-written
file. DuckDB locks are per file, so a BI tool with the published file open never blocks this.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

T = TypeVar("T")

MARTS_SCHEMA = "marts"


@dataclass(frozen=True)
class PublishedTable:
    name: str
    rows: int


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: list[PublishedTable]
    bytes: int


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _copy_schema(warehouse: Path, target: Path, schema: str) -> list[PublishedTable]:
    # Both files are attached under aliases: a file named like its schema (marts.duckdb with
    # schema marts) makes `marts.<table>` ambiguous when it is the connection's main catalog.
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH {_sql_literal(str(warehouse))} AS wh (READ_ONLY)")
        con.execute(f"ATTACH {_sql_literal(str(target))} AS pub")
        relations = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'wh' AND table_schema = ? ORDER BY table_name",
            [schema],
        ).fetchall()
        if not relations:
            raise RuntimeError(f"schema {schema!r} of {warehouse} has no tables to publish")
        con.execute(f"CREATE SCHEMA pub.{_quoted(schema)}")
        tables = []
        for (name,) in relations:
            source = f"wh.{_quoted(schema)}.{_quoted(name)}"
            target_table = f"pub.{_quoted(schema)}.{_quoted(name)}"
            # Views become tables: the published file must not point back into the warehouse.
            con.execute(f"CREATE TABLE {target_table} AS SELECT * FROM {source}")
            (rows,) = con.execute(f"SELECT count(*) FROM {target_table}").fetchone()
            tables.append(PublishedTable(name, rows))
        con.execute("CHECKPOINT pub")
        con.execute("DETACH pub")
        con.execute("DETACH wh")
        return tables
    finally:
        con.close()


def replace_atomically(published: Path, write: Callable[[Path], T]) -> T:
    """Call ``write(staging)`` on a new file beside ``published``, then swap it in with one
    rename: a BI tool holding the old file open keeps reading it, never a half-written one."""
    published.parent.mkdir(parents=True, exist_ok=True)
    # Same folder as the target: os.replace is only atomic within one filesystem.
    staging = published.parent / f".{published.name}.{uuid.uuid4().hex}.tmp"
    try:
        result = write(staging)
        with open(staging, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, published)
    finally:
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)
    directory = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return result


def publish_schema(warehouse: Path, published: Path, schema: str = MARTS_SCHEMA) -> PublishResult:
    """Write ``schema`` of ``warehouse`` to ``published`` and swap it in atomically."""
    tables = replace_atomically(published, lambda staging: _copy_schema(warehouse, staging, schema))
    return PublishResult(published, tables, published.stat().st_size)
