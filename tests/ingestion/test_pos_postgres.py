"""The POS source reads PostgreSQL as it reads SQLite: the same rows land in raw_pos."""

from __future__ import annotations

import sqlite3

import psycopg2
import pytest
from ingest_helpers import table_rows
from postgres import PostgresUnavailable, running_postgres

from ingestion.pipelines import run_system
from ingestion.sandbox import pos_ddl
from ingestion.sandbox.pos_db import COLUMNS

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres():
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")


def _copy_pos(sqlite_path, url: str) -> dict[str, int]:
    """The sandbox's POS schema (its portable DDL) and rows, into PostgreSQL."""
    counts = {}
    lite = sqlite3.connect(sqlite_path)
    with psycopg2.connect(url) as pg, pg.cursor() as cur:
        cur.execute(pos_ddl())
        # COLUMNS lists parents first, so the foreign keys are checked for real.
        for table, cols in COLUMNS.items():
            rows = lite.execute(f"select {', '.join(cols)} from {table}").fetchall()
            marks = ", ".join(["%s"] * len(cols))
            cur.executemany(f"insert into {table} ({', '.join(cols)}) values ({marks})", rows)
            counts[table] = len(rows)
    lite.close()
    return counts


def test_raw_pos_from_postgres_equals_the_sqlite_load(first_load, postgres, tmp_path, monkeypatch):
    counts = _copy_pos(first_load.sources / "pos" / "pos.sqlite", postgres.url)
    monkeypatch.setenv("SOURCES__POS__CREDENTIALS", postgres.url)
    warehouse = tmp_path / "warehouse.duckdb"
    rows = run_system("pos", first_load.sources, warehouse)
    assert {r["resource"]: r["loaded"] for r in rows} == counts
    from_pg = {k: v for k, v in table_rows(warehouse).items() if k.startswith("raw_pos.")}
    from_lite = {k: v for k, v in first_load.tables.items() if k.startswith("raw_pos.")}
    assert set(from_pg) == set(from_lite)
    for table, values in from_lite.items():
        assert from_pg[table] == values, f"{table} differs between PostgreSQL and SQLite"
    revenue = sum(r[8] for r in from_pg["raw_pos.transactions"])
    assert revenue > 0
