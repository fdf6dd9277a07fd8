"""`omni run --full-refresh` with POS and e-commerce loaded by two multi-assets each (reference
data, unpartitioned; events, daily partitions): each part drops and reloads only its own
tables, and together they reload everything exactly once."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

COUNTED = {
    "raw_pos.stores": "store_id",
    "raw_pos.transactions": "transaction_id",
    "raw_pos.inventory_daily": "store_id || sku || snapshot_date",
    "raw_ecommerce.customers": "id",
    "raw_ecommerce.orders": "id",
    "raw_ecommerce.products": "id",
}


def _counts(warehouse) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            table: con.execute(f"select count(*), count(distinct {key}) from {table}").fetchone()
            for table, key in COUNTED.items()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def refreshed(first_run, data_dir, tmp_path_factory):
    from orchestration.cli import main

    copy = tmp_path_factory.mktemp("omni_full_refresh") / "data"
    shutil.copytree(data_dir, copy)
    before = _counts(copy / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DATA_DIR", str(copy))
        patch.setenv("DAGSTER_HOME", str(copy / "dagster_home"))
        exit_code = main(["run", "--full-refresh", "--sources", str(copy / "sources")])
    return {"root": copy, "exit_code": exit_code, "before": before}


def test_full_refresh_reloads_every_part_once(refreshed):
    assert refreshed["exit_code"] == 0
    after = _counts(refreshed["root"] / "warehouse.duckdb")
    assert after == refreshed["before"]
    assert all(rows == distinct and rows > 0 for rows, distinct in after.values()), after


def test_full_refresh_publishes_the_sandbox_truth(refreshed, sources_dir):
    truth = json.loads((sources_dir / "_truth" / "kpis.json").read_text())["revenue_total"]
    con = duckdb.connect()
    try:
        con.execute(
            f"attach '{refreshed['root'] / 'published' / 'marts.duckdb'}' as bi (read_only)"
        )
        orders, net = con.execute(
            "select count(*), sum(net_revenue) from bi.marts.fct_orders"
        ).fetchone()
    finally:
        con.close()
    assert orders == truth["orders"]
    assert float(net) == pytest.approx(truth["net_revenue"], abs=0.005)
