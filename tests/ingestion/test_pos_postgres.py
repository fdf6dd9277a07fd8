"""The POS source reads PostgreSQL as it reads SQLite: the same rows land in raw_pos."""

from __future__ import annotations

import pytest
from ingest_helpers import table_rows
from postgres_server import copy_pos

from ingestion.pipelines import run_system

pytestmark = pytest.mark.postgres


def test_raw_pos_from_postgres_equals_the_sqlite_load(first_load, postgres, tmp_path, monkeypatch):
    counts = copy_pos(first_load.sources / "pos" / "pos.sqlite", postgres.url)
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
