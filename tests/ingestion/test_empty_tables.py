"""Raw tables exist, shaped as a real load makes them, even when a source sent no rows yet."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from ingest_helpers import query

from ingestion.pipelines import CONTRACTS, SYSTEMS, dataset_name, run_ingestion

sandbox = pytest.importorskip("ingestion.sandbox")

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"

# A new shop's first days: no POS tickets at all, no refunds, no abandoned checkouts, no
# service conversations.
EMPTY_WORLD = {"customers": 30, "days": 3, "seed": 1}
# A few store tickets (so store revenue exists) but still no returns, pickups, refunds,
# checkouts or conversations.
SPARSE_WORLD = {"customers": 50, "days": 3, "seed": 1}
EMPTY_IN_BOTH = {
    "raw_pos.returns",
    "raw_pos.pickups",
    "raw_ecommerce.orders__refunds",
    "raw_ecommerce.checkouts",
    "raw_messaging.conversations",
    "raw_messaging.conversations__messages",
}


def contract_tables() -> list[str]:
    return [
        f"{dataset_name(system)}.{table}"
        for system in SYSTEMS
        for name, contract in CONTRACTS[system].items()
        for table in (name, *(f"{name}__{child}" for child in contract.nested))
    ]


def columns(warehouse: Path) -> dict[str, list[tuple[str, str]]]:
    """Every raw table's (column, type) pairs, in table order."""
    out: dict[str, list[tuple[str, str]]] = {}
    rows = query(
        warehouse,
        "select table_schema || '.' || table_name, column_name, data_type "
        "from information_schema.columns where table_schema like 'raw\\_%' escape '\\' "
        "order by table_schema, table_name, ordinal_position",
    )
    for table, column, data_type in rows:
        out.setdefault(table, []).append((column, data_type))
    return out


def row_count(warehouse: Path, table: str) -> int:
    return query(warehouse, f"select count(*) from {table}")[0][0]


def _ingest(world: dict, tmp_path_factory, name: str) -> tuple[Path, Path]:
    sources = tmp_path_factory.mktemp(f"{name}_sources")
    sandbox.generate(sources, **world)
    warehouse = tmp_path_factory.mktemp(name) / "warehouse.duckdb"
    run_ingestion(sources, warehouse)
    return sources, warehouse


@pytest.fixture(scope="session")
def empty_load(tmp_path_factory) -> tuple[Path, list[str]]:
    handler = _Collect()
    logger = logging.getLogger("ingestion.empty_tables")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        _, warehouse = _ingest(EMPTY_WORLD, tmp_path_factory, "empty")
    finally:
        logger.removeHandler(handler)
    return warehouse, handler.messages


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="session")
def sparse_load(tmp_path_factory) -> tuple[Path, Path]:
    return _ingest(SPARSE_WORLD, tmp_path_factory, "sparse")


def test_every_contract_table_exists_shaped_like_a_load_with_rows(empty_load, first_load):
    warehouse, messages = empty_load
    tiny, full = columns(warehouse), columns(first_load.warehouse)
    empty = [t for t in contract_tables() if row_count(warehouse, t) == 0]
    # The sources really sent nothing for these: the test is about them.
    assert {"raw_pos.transactions", "raw_pos.transaction_lines", *EMPTY_IN_BOTH} <= set(empty)
    for table in contract_tables():
        assert table in tiny, f"{table} missing after a load without rows for it"
        # Same columns (dlt's _dlt_load_id / _dlt_id / _dlt_parent_id / _dlt_list_idx /
        # _dlt_root_id included, exactly where a load with rows has them) and same types.
        assert sorted(tiny[table]) == sorted(full[table]), table
    logged = " ".join(messages)
    # Any order creates the shop's list tables: its marker rows name the orders without
    # refunds (ingestion/nested_arrow.py). test_order_children covers a shop without orders.
    by_markers = {"raw_ecommerce.orders__line_items", "raw_ecommerce.orders__refunds"}
    for table in set(empty) - by_markers:
        assert table in logged, f"creating {table} was not logged"


def test_rows_the_sources_sent_are_all_there(empty_load):
    warehouse, _ = empty_load
    audit = query(
        warehouse,
        "select source_system, resource, received, loaded, quarantined "
        "from raw_audit.load_reconciliation",
    )
    assert all(received == loaded + quarantined for _, _, received, loaded, quarantined in audit)
    assert row_count(warehouse, "raw_ecommerce.orders") > 0
    # The empty materialisation is one load of its own, and it adds no row anywhere.
    loaded_orders = sum(r[3] for r in audit if r[:2] == ("ecommerce", "orders"))
    assert row_count(warehouse, "raw_ecommerce.orders") == loaded_orders


def test_dbt_builds_on_a_world_with_empty_sources(sparse_load):
    sources, sparse_warehouse = sparse_load
    for table in EMPTY_IN_BOTH:
        assert row_count(sparse_warehouse, table) == 0
    data_dir = sparse_warehouse.parent
    env = {
        **os.environ,
        "OMNI_DATA_DIR": str(data_dir),
        "DBT_PROFILES_DIR": str(DBT_PROJECT),
    }
    target = data_dir / "dbt_target"
    done = subprocess.run(
        [str(DBT), "build", "--target-path", str(target), "--log-path", str(data_dir / "logs")],
        cwd=DBT_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass")]
    assert failed == []
    assert any(r["unique_id"] == "model.omni.fct_orders" for r in results)
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as pos:
        expected = pos.execute("select count(*), sum(total_amount) from transactions").fetchone()
    with duckdb.connect(str(sparse_warehouse), read_only=True) as con:
        store = con.execute(
            "select count(*), sum(gross_revenue) from marts.fct_orders where channel = 'store'"
        ).fetchone()
    assert store[0] == expected[0] > 0
    assert float(store[1]) == pytest.approx(expected[1])


def test_a_later_load_fills_the_pre_created_tables_and_keeps_child_links(
    empty_load, first_load, tmp_path
):
    warehouse, _ = empty_load
    # The same warehouse and pipeline state (cursors, dlt schemas), now sent a world with rows.
    later = tmp_path / "later"
    shutil.copytree(warehouse.parent, later)
    run_ingestion(first_load.sources, later / "warehouse.duckdb")
    target = later / "warehouse.duckdb"
    for table in EMPTY_IN_BOTH | {"raw_pos.transactions", "raw_pos.transaction_lines"}:
        expected = row_count(first_load.warehouse, table)
        assert expected > 0, table
        assert row_count(target, table) == expected, table
    for child, parent in (
        ("raw_ecommerce.orders__refunds", "raw_ecommerce.orders"),
        ("raw_messaging.conversations__messages", "raw_messaging.conversations"),
    ):
        orphans = query(
            target,
            f"select count(*) from {child} c left join {parent} p "
            "on p._dlt_id = c._dlt_parent_id and p._dlt_id = c._dlt_root_id "
            "where p._dlt_id is null",
        )[0][0]
        assert orphans == 0, f"{child} rows lost their parent"
    refunds = query(
        target,
        "select count(*), sum(amount) from raw_ecommerce.orders__refunds",
    )[0]
    assert (
        refunds
        == query(
            first_load.warehouse, "select count(*), sum(amount) from raw_ecommerce.orders__refunds"
        )[0]
    )
