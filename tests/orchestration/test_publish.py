"""Publishing the marts: atomic swap, readers never blocked, never a half-written file."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.publish import publish_schema


def _warehouse(path: Path, revenue: list[float]) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute("create schema if not exists staging")
    con.execute("create or replace table marts.fct_orders (order_id text, net_revenue double)")
    con.executemany(
        "insert into marts.fct_orders values (?, ?)",
        [(f"o{i}", value) for i, value in enumerate(revenue)],
    )
    con.execute(
        "create or replace view marts.v_revenue as select sum(net_revenue) as total "
        "from marts.fct_orders"
    )
    con.execute("create or replace table staging.secret as select 1 as x")
    con.close()
    return path


def test_publish_copies_only_marts_and_materialises_views(tmp_path):
    warehouse = _warehouse(tmp_path / "warehouse.duckdb", [10.0, 20.5])
    published = tmp_path / "published" / "marts.duckdb"

    result = publish_schema(warehouse, published)

    assert {t.name: t.rows for t in result.tables} == {"fct_orders": 2, "v_revenue": 1}
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("select sum(net_revenue) from marts.marts.fct_orders").fetchone()[0] == 30.5
    assert con.execute("select total from marts.marts.v_revenue").fetchone()[0] == 30.5
    schemas = {
        r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()
    }
    con.close()
    assert "staging" not in schemas
    assert [p.name for p in published.parent.iterdir()] == ["marts.duckdb"]  # no temp left


def test_marts_file_opened_directly_needs_the_catalog_prefix(tmp_path):
    # DuckDB names the main catalog after the file: in marts.duckdb, `marts.x` is ambiguous
    # between catalog and schema, so BI tools use `marts.marts.x` (or attach under an alias).
    published = tmp_path / "published" / "marts.duckdb"
    publish_schema(_warehouse(tmp_path / "w.duckdb", [4.0]), published)
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("select count(*) from marts.marts.fct_orders").fetchone()[0] == 1
    con.close()
    con = duckdb.connect()
    con.execute(f"attach '{published}' as bi (read_only)")
    assert con.execute("select count(*) from bi.marts.fct_orders").fetchone()[0] == 1
    con.close()


def test_reader_holding_the_file_open_does_not_block_and_keeps_its_snapshot(tmp_path):
    published = tmp_path / "published" / "marts.duckdb"
    publish_schema(_warehouse(tmp_path / "w1.duckdb", [1.0, 2.0]), published)
    reader = duckdb.connect(str(published), read_only=True)

    outcome = {}
    worker = threading.Thread(
        target=lambda: outcome.setdefault(
            "result", publish_schema(_warehouse(tmp_path / "w2.duckdb", [5.0]), published)
        )
    )
    worker.start()
    worker.join(timeout=30)

    assert not worker.is_alive(), "publishing blocked on a reader"
    assert {t.name: t.rows for t in outcome["result"].tables}["fct_orders"] == 1
    # The BI session still sees the complete old file; a new session sees the new one.
    assert (
        reader.execute("select sum(net_revenue) from marts.marts.fct_orders").fetchone()[0] == 3.0
    )
    reader.close()
    fresh = duckdb.connect(str(published), read_only=True)
    assert fresh.execute("select sum(net_revenue) from marts.marts.fct_orders").fetchone()[0] == 5.0
    fresh.close()


def test_failed_copy_leaves_previous_file_byte_identical(tmp_path):
    published = tmp_path / "published" / "marts.duckdb"
    publish_schema(_warehouse(tmp_path / "good.duckdb", [7.0]), published)
    before = published.read_bytes()

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(RuntimeError, match="no tables to publish"):
        publish_schema(empty, published)

    assert published.read_bytes() == before
    assert [p.name for p in published.parent.iterdir()] == ["marts.duckdb"]
