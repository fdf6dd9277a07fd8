"""Order lines and refunds reach dlt as Arrow tables of their own (``nested_arrow``): each
load replaces the children of the orders it carries, and only theirs."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dlt
import duckdb
import pytest
from ingest_helpers import query, save_shop_doc, shop_docs

from ingestion.ecommerce.settings import CONTRACTS as SHOP
from ingestion.pipelines import make_pipeline, run_system
from ingestion.quarantine import with_validation
from ingestion.sandbox import SHOP_TOKEN, SandboxServer

sandbox = pytest.importorskip("ingestion.sandbox")

ORDERS = SHOP["orders"]
CHILDREN_SQL = (
    "select o.id, c.id, c._dlt_list_idx, {values} from raw_ecommerce.orders__{table} c "
    "join raw_ecommerce.orders o on o._dlt_id = c._dlt_root_id and o._dlt_id = c._dlt_parent_id "
    "order by all"
)


@pytest.fixture(scope="module")
def shop_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shop_world")
    sandbox.generate(out, customers=300, days=7, seed=5)
    return out


@pytest.fixture()
def world(shop_world, tmp_path) -> Path:
    """A copy this test may change."""
    return Path(shutil.copytree(shop_world, tmp_path / "world"))


def _run(world: Path, warehouse: Path) -> list[dict]:
    with SandboxServer(world, port=0, fault_rate=0.0) as server:
        endpoints = {"ecommerce": {"base_url": server.base_url, "access_token": SHOP_TOKEN}}
        return run_system("ecommerce", world, warehouse, endpoints)


def _lines(warehouse: Path) -> list[tuple]:
    return query(warehouse, CHILDREN_SQL.format(values="c.quantity, c.price", table="line_items"))


def _refunds(warehouse: Path) -> list[tuple]:
    return query(warehouse, CHILDREN_SQL.format(values="c.amount", table="refunds"))


def _line(order: dict, n: int, quantity: int = 1) -> dict:
    return {
        "id": f"{order['id']}-L{n}",
        "sku": "SKU-X",
        "product_id": "P-X",
        "quantity": quantity,
        "price": "10.00",
    }


def _refund(order: dict) -> dict:
    return {"id": f"{order['id']}-R", "created_at": order["created_at"], "amount": "4.50"}


def _updated(order: dict, **changes) -> dict:
    # Updated a minute ago: inside the next run's window, never in the future.
    moment = datetime.now(UTC) - timedelta(minutes=1)
    return {**order, **changes, "updated_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _reconciles(rows: list[dict]) -> bool:
    return all(r["received"] == r["loaded"] + r["quarantined"] + r["suppressed"] for r in rows)


def test_a_load_replaces_the_children_of_its_orders_only(world, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    orders = shop_docs(world, "orders")
    a, b, c = orders[0], orders[1], orders[2]
    save_shop_doc(world, "orders", {**a, "line_items": [_line(a, n) for n in (1, 2, 3)]})
    save_shop_doc(world, "orders", {**b, "refunds": [_refund(b)]})
    save_shop_doc(world, "orders", {**c, "line_items": [_line(c, 1)], "refunds": [_refund(c)]})
    assert _reconciles(_run(world, warehouse))
    lines_before, refunds_before = _lines(warehouse), _refunds(warehouse)
    assert [r[1] for r in lines_before if r[0] == a["id"]] == [f"{a['id']}-L{n}" for n in (1, 2, 3)]
    assert [r[1] for r in refunds_before if r[0] == b["id"]] == [f"{b['id']}-R"]
    (a_row_id,) = query(warehouse, "select _dlt_id from raw_ecommerce.orders where id = ?", a["id"])

    # Upstream: A keeps one line (its quantity changed), B's refund is withdrawn, C loses
    # its line and its refund.
    save_shop_doc(world, "orders", _updated(a, line_items=[_line(a, 2, quantity=5)]))
    save_shop_doc(world, "orders", _updated(b, refunds=[]))
    save_shop_doc(world, "orders", _updated(c, line_items=None, refunds=[]))
    assert _reconciles(_run(world, warehouse))

    lines, refunds = _lines(warehouse), _refunds(warehouse)
    assert [r for r in lines if r[0] == a["id"]] == [
        (a["id"], f"{a['id']}-L2", 0, 5, Decimal("10.00"))
    ]
    assert [r for r in refunds if r[0] == b["id"]] == []
    assert [r for r in lines + refunds if r[0] == c["id"]] == []
    # The other orders (most of them re-read by the lag window) keep their children.
    changed = {a["id"], b["id"], c["id"]}
    assert [r for r in lines if r[0] not in changed] == [
        r for r in lines_before if r[0] not in changed
    ]
    assert [r for r in refunds if r[0] not in changed] == [
        r for r in refunds_before if r[0] not in changed
    ]
    assert len([r for r in lines if r[0] not in changed]) > 10
    # An order's row id is its key's hash: the same in every load.
    assert query(warehouse, "select _dlt_id from raw_ecommerce.orders where id = ?", a["id"]) == [
        a_row_id
    ]
    # No marker row (list index -1) and no child without its order reaches the raw tables.
    for table in ("line_items", "refunds"):
        assert query(
            warehouse,
            f"select count(*) from raw_ecommerce.orders__{table} c "
            "anti join raw_ecommerce.orders o on o._dlt_id = c._dlt_root_id",
        ) == [(0,)]
        assert query(
            warehouse, f"select count(*) from raw_ecommerce.orders__{table} where _dlt_list_idx < 0"
        ) == [(0,)]


def _order(version: int, lines: int, order_id: str = "9001") -> dict:
    order = {
        "id": order_id,
        "total_price": "30.00",
        "created_at": "2025-09-14T10:00:00Z",
        "updated_at": f"2025-09-14T1{version}:00:00Z",
    }
    return {**order, "line_items": [_line(order, n) for n in range(lines)]}


def test_an_order_repeated_in_a_later_batch_keeps_the_first_version_and_its_lines(tmp_path):
    """Separate merge jobs cannot keep only the newest version's children, so the later
    version goes to quarantine (the next run's lag window brings it), lines and all."""
    other = _order(1, lines=1, order_id="9002")

    @dlt.resource(name="orders", primary_key="id", write_disposition="merge")
    def orders():
        yield [_order(1, lines=3), other]
        yield [_order(2, lines=1)]

    pipeline = dlt.pipeline(
        "repeated_order",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_ecommerce",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(with_validation(orders(), ORDERS, as_arrow=True, dedup_sort="updated_at"))
    warehouse = tmp_path / "w.duckdb"
    assert query(warehouse, "select id, updated_at from raw_ecommerce.orders order by id") == [
        ("9001", datetime(2025, 9, 14, 11, tzinfo=UTC)),
        ("9002", datetime(2025, 9, 14, 11, tzinfo=UTC)),
    ]
    assert [r[:3] for r in _lines(warehouse)] == [
        ("9001", "9001-L0", 0),
        ("9001", "9001-L1", 1),
        ("9001", "9001-L2", 2),
        ("9002", "9002-L0", 0),
    ]
    ((reason, payload),) = query(warehouse, "select reason, payload from raw_ecommerce._quarantine")
    assert "already extracted earlier in this load" in reason
    assert '"updated_at":"2025-09-14T12:00:00Z"' in payload.replace(" ", "")
    assert "9001-L0" in payload  # the quarantined version keeps its lines


def test_a_warehouse_with_nested_order_tables_is_reloaded_once(world, tmp_path, caplog):
    """The layout before: dlt's nested tables under ``orders``, random order row ids."""
    warehouse = tmp_path / "warehouse.duckdb"
    order = shop_docs(world, "orders")[0]
    stale = {**order, "line_items": [{"id": "STALE", "quantity": 1, "price": "1.00"}]}
    old = make_pipeline("ecommerce", warehouse)
    old.run(
        dlt.resource([stale], name="orders", primary_key="id", write_disposition="merge"),
        schema=dlt.Schema("ecommerce"),
    )
    assert old.default_schema.tables["orders__line_items"].get("parent") == "orders"

    with caplog.at_level(logging.WARNING, logger="ingestion.nested_arrow"):
        assert _reconciles(_run(world, warehouse))
    assert any("reloading orders from scratch" in r.getMessage() for r in caplog.records)
    docs = shop_docs(world, "orders")
    expected = sorted((o["id"], line["id"]) for o in docs for line in o.get("line_items") or [])
    assert [r[:2] for r in _lines(warehouse)] == expected
    assert query(warehouse, "select count(*) from raw_ecommerce.orders") == [(len(docs),)]
    schema = make_pipeline("ecommerce", warehouse).default_schema
    assert "parent" not in schema.tables["orders__line_items"]

    # Once: the next run finds the new layout and loads incrementally.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ingestion.nested_arrow"):
        _run(world, warehouse)
    assert not any("from scratch" in r.getMessage() for r in caplog.records)
    assert [r[:2] for r in _lines(warehouse)] == expected


def test_every_child_row_links_to_its_order_as_dlt_links_nested_rows(world, tmp_path):
    """The link ids are dlt's own: the order's key hash, and the nested row hash of it."""
    from dlt.common.normalizers.json.helpers import get_nested_row_hash, get_row_hash

    warehouse = tmp_path / "warehouse.duckdb"
    _run(world, warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select o.id, o._dlt_id, l._dlt_list_idx, l._dlt_id from raw_ecommerce.orders o "
            "join raw_ecommerce.orders__line_items l on l._dlt_parent_id = o._dlt_id"
        ).fetchall()
    assert rows
    for order_id, order_row_id, idx, line_row_id in rows:
        assert order_row_id == get_row_hash({"id": order_id}, ["id"])
        assert line_row_id == get_nested_row_hash(order_row_id, "orders__line_items", idx)


def _columns(warehouse: Path) -> dict[str, list[tuple]]:
    rows = query(
        warehouse,
        "select table_name, column_name, data_type, is_nullable from information_schema.columns "
        "where table_schema = 'raw_ecommerce' and table_name like 'orders%' order by all",
    )
    out: dict[str, list[tuple]] = {}
    for table, *column in rows:
        out.setdefault(table, []).append(tuple(column))
    return out


def test_a_shop_without_orders_gets_order_tables_shaped_as_a_load_with_rows(
    shop_world, world, tmp_path
):
    with_rows = tmp_path / "with_rows" / "warehouse.duckdb"
    _run(world, with_rows)
    with sqlite3.connect(world / "ecommerce" / "shop.sqlite") as con:
        con.execute("delete from orders")
    without = tmp_path / "without" / "warehouse.duckdb"
    _run(world, without)
    expected = _columns(with_rows)
    assert set(expected) == {"orders", "orders__line_items", "orders__refunds"}
    assert _columns(without) == expected
    for table in expected:
        assert query(without, f"select count(*) from raw_ecommerce.{table}") == [(0,)]
    # The first orders merge into them as into tables a load created.
    assert _reconciles(_run(shop_world, without))
    assert _lines(without) == _lines(with_rows)
