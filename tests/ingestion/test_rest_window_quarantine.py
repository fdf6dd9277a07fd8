"""A backfill window run of the shop quarantines what the contract rejects, as a normal run
does: nothing counted as received goes missing between the cursor checks and the load."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from zoneinfo import ZoneInfo

import duckdb
from ingest_helpers import copy_load, save_shop_doc, shop_docs

from ingestion.pipelines import run_ingestion

DAY = date(2025, 9, 10)
WINDOW = (DAY, date(2025, 9, 11))
MADRID = ZoneInfo("Europe/Madrid")


def _madrid_day(iso: str) -> date:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(MADRID).date()


def test_a_window_run_quarantines_an_order_updated_in_the_future(first_load, tmp_path):
    sources = tmp_path / "sources"
    shutil.copytree(first_load.sources, sources)
    order = next(d for d in shop_docs(sources, "orders") if _madrid_day(d["created_at"]) == DAY)
    order["updated_at"] = "2099-01-01T00:00:00Z"
    save_shop_doc(sources, "orders", order)
    warehouse = copy_load(first_load, tmp_path / "windowed")

    rows = run_ingestion(sources, warehouse, systems=["ecommerce"], window=WINDOW)

    orders = next(r for r in rows if r["resource"] == "orders")
    assert orders["received"] > 1
    assert orders["quarantined"] == 1
    assert orders["received"] == orders["loaded"] + orders["quarantined"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reasons = con.execute(
            "select reason from raw_ecommerce._quarantine where resource = 'orders' "
            "and load_id = ? and payload like ?",
            [orders["load_id"], f'%"{order["id"]}"%'],
        ).fetchall()
        loaded = con.execute(
            "select updated_at from raw_ecommerce.orders where id = ?", [order["id"]]
        ).fetchall()
    assert reasons == [
        ("contract: field `updated_at`: date in the future: 2099-01-01T00:00:00+00:00",)
    ]
    # The first load's version of the order stays; the rejected one did not replace it.
    assert len(loaded) == 1 and loaded[0][0].year < 2099
