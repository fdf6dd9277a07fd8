"""Order pages (orders with their lines and refunds) checked column-wise load as the record
check loads them; a page with anything to reject or coerce takes the record check."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest
from ingest_helpers import table_rows

from ingestion import quarantine
from ingestion.ecommerce.settings import CONTRACTS as SHOP
from ingestion.pipelines import run_system
from ingestion.quarantine import checked_nested_tables, checked_records_page, split_records
from ingestion.sandbox import SHOP_TOKEN, SandboxServer

ORDERS = SHOP["orders"]


def _order(n: int, **changes) -> dict:
    record = {
        "id": f"55000000{n:02d}",
        "name": f"#10{n:02d}",
        "customer_id": "7100000001",
        "email": "ana@gmail.com",
        "total_price": "59.90",
        "subtotal_price": "59.90",
        "created_at": "2025-09-14T10:23:11Z",
        "updated_at": "2025-09-14T12:00:00+02:00",
        "cancelled_at": None,
        "line_items": [
            {"id": f"L{n}a", "sku": "SKU-1", "product_id": "P1", "quantity": 2, "price": "29.95"}
        ],
        "refunds": [
            {"id": f"R{n}", "created_at": "2025-09-15T08:00:00Z", "amount": "5.00", "reason": "x"}
        ],
    }
    return {**record, **changes}


def _page() -> list[dict]:
    return [_order(1), _order(2, refunds=[], line_items=None), _order(3)]


def test_a_clean_order_page_gives_the_tables_the_record_check_gives():
    fast = checked_nested_tables(ORDERS, _page())
    good, bad = split_records(ORDERS, _page())
    reference = checked_records_page(ORDERS, good)
    assert fast is not None and not bad
    assert fast.root.equals(reference.root)
    assert fast.root["total_price"].to_pylist() == [Decimal("59.90")] * 3
    assert fast.root["updated_at"][0].as_py() == datetime(2025, 9, 14, 10, tzinfo=UTC)
    for name in ("line_items", "refunds"):
        items, parents, index = fast.children[name]
        ref_items, ref_parents, ref_index = reference.children[name]
        assert items.equals(ref_items)
        # The second order has neither lines nor refunds: the items are the 1st and 3rd's.
        assert parents.tolist() == ref_parents.tolist() == [0, 2]
        assert index.tolist() == ref_index.tolist() == [0, 0]
    refunds = fast.children["refunds"][0]
    assert refunds["created_at"][0].as_py() == datetime(2025, 9, 15, 8, tzinfo=UTC)
    assert refunds["amount"][0].as_py() == Decimal("5.00")
    assert fast.children["line_items"][0]["quantity"].to_pylist() == [2, 2]


@pytest.mark.parametrize(
    "change",
    [
        {"id": 5500000001},  # an integer id: the record check makes it text
        {"id": ""},  # an empty key is a missing key
        {"total_price": None},  # required
        {"total_price": "59.905"},  # finer than cents
        {"updated_at": "2099-01-01T00:00:00Z"},  # in the future
        {"updated_at": "n/a"},
        {"line_items": "SKU-1"},  # not a list
        {"line_items": ["SKU-1"]},  # an item that is not an object
        {"line_items": [{"id": "L9", "quantity": -1, "price": "1.00"}]},  # negative
        {"line_items": [{"id": "L9", "quantity": "2", "price": "1.00"}]},  # text to coerce
        # Arrow alone would bend these: 1.5 read as 1, 2.0 as 2, "" as an empty list, an
        # empty list as an item of nulls.
        {"line_items": [{"id": "L9", "quantity": 1.5, "price": "1.00"}]},
        {"line_items": [{"id": "L9", "quantity": 2.0, "price": "1.00"}]},
        {"line_items": ""},
        {"line_items": [[]]},
        {"line_items": [None]},
        {"refunds": [{"id": None, "amount": "1.00"}]},  # a refund without its key
        {"id": "5500000003"},  # the same order twice in the page: the later one is kept
    ],
)
def test_an_order_page_with_anything_to_reject_or_coerce_takes_the_record_check(change):
    page = [_order(1, **change), _order(3)]
    before = copy.deepcopy(page)
    assert checked_nested_tables(ORDERS, page) is None
    # Untouched, so the record check sees (and quarantines) exactly what the API sent.
    assert page == before


def _load_shop(world, warehouse, column_wise: bool, monkeypatch) -> dict[str, int]:
    calls = {"column_wise": 0}
    real = quarantine.checked_nested_tables

    def counted(*args, **kwargs):
        page = real(*args, **kwargs) if column_wise else None
        calls["column_wise"] += page is not None
        return page

    monkeypatch.setattr(quarantine, "checked_nested_tables", counted)
    with SandboxServer(world, port=0, fault_rate=0.0) as server:
        endpoints = {"ecommerce": {"base_url": server.base_url, "access_token": SHOP_TOKEN}}
        run_system("ecommerce", world, warehouse, endpoints)
    return calls


def _lines_by_order(warehouse) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select o.id, l.id, l.quantity, l.price, l._dlt_list_idx "
            "from raw_ecommerce.orders__line_items l "
            "join raw_ecommerce.orders o on o._dlt_id = l._dlt_parent_id order by all"
        ).fetchall()


def test_orders_checked_column_wise_load_the_same_raw_tables(world, tmp_path, monkeypatch):
    fast = tmp_path / "fast" / "warehouse.duckdb"
    slow = tmp_path / "slow" / "warehouse.duckdb"
    assert _load_shop(world, fast, True, monkeypatch)["column_wise"] > 0
    assert _load_shop(world, slow, False, monkeypatch)["column_wise"] == 0
    fast_tables = {k: v for k, v in table_rows(fast).items() if k.startswith("raw_ecommerce.")}
    slow_tables = {k: v for k, v in table_rows(slow).items() if k.startswith("raw_ecommerce.")}
    assert set(fast_tables) == set(slow_tables)
    assert fast_tables["raw_ecommerce.orders__line_items"], "no order lines loaded"
    for name, rows in slow_tables.items():
        assert fast_tables[name] == rows, f"{name} differs"
    # Every line still hangs off its own order.
    lines = _lines_by_order(fast)
    assert lines == _lines_by_order(slow)
    assert len(lines) == len(fast_tables["raw_ecommerce.orders__line_items"])
