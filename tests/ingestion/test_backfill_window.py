"""A backfill window re-extracts exactly the event-shaped records of its business days.

After a normal load, one record of day D and one of day D+2 change in every kind of source
(files, SQL, REST). A window run of [D, D+1) must take D's change only, duplicate nothing,
and leave the incremental state alone, so the next normal run still fetches D+2's change.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dlt
import pytest
from ingest_helpers import copy_load, distinct_keys, query, save_shop_doc, shop_docs

from ingestion.pipelines import (
    EVENT_SYSTEMS,
    WINDOW_RESOURCES,
    default_pipelines_dir,
    make_source,
    run_ingestion,
)
from ingestion.window import in_window

DAY = date(2025, 9, 10)
LATER = date(2025, 9, 12)
WINDOW = (DAY, date(2025, 9, 11))
MADRID = ZoneInfo("Europe/Madrid")
# After the world's last day and before the loader's clock. Day D's change is the newer one:
# a window run that moved the cursors to it would make the next normal run skip D+2's
# change (older than D's by more than the 3-day lag window).
UPDATED_AT = {DAY: "2025-10-20 12:00:00", LATER: "2025-09-29 12:00:00"}


def _mark(day: date) -> str:
    return f"backfill-{day.isoformat()}"


def _change_event(sources: Path, day: date) -> str:
    """Rewrite the first event of the day's partition with a new page_url; its id."""
    path = next((sources / "clickstream" / f"dt={day.isoformat()}").glob("events-*.jsonl.gz"))
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    event = json.loads(lines[0])
    event["page_url"] = f"/{_mark(day)}"
    lines[0] = json.dumps(event)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return event["event_id"]


def _change_ticket(sources: Path, day: date) -> str:
    """Re-issue one ticket of the day with a new staff id and a recent updated_at; its id."""
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        (ticket,) = con.execute(
            "select transaction_id from transactions where date(occurred_at) = ? "
            "order by transaction_id limit 1",
            [day.isoformat()],
        ).fetchone()
        con.execute(
            "update transactions set staff_id = ?, updated_at = ? where transaction_id = ?",
            [_mark(day), UPDATED_AT[day], ticket],
        )
    return ticket


def _madrid_day(iso: str) -> date:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(MADRID).date()


def _change_order(sources: Path, day: date) -> str:
    """Change the email of one order created on the day (Madrid time), with a recent
    updated_at; its id."""
    order = next(d for d in shop_docs(sources, "orders") if _madrid_day(d["created_at"]) == day)
    order["email"] = f"{_mark(day)}@example.com"
    order["updated_at"] = UPDATED_AT[day].replace(" ", "T") + "Z"
    save_shop_doc(sources, "orders", order)
    return order["id"]


def _cursors(warehouse: Path) -> dict[str, dict]:
    """Every event system's resource state (incremental cursors, the lines' watermark)."""
    pipelines_dir = default_pipelines_dir(warehouse)
    return {
        system: dlt.attach(f"omni_{system}", pipelines_dir=str(pipelines_dir)).state["sources"]
        for system in EVENT_SYSTEMS
    }


@pytest.fixture(scope="module")
def changed(first_load, tmp_path_factory):
    """Sources with changes on D and D+2, and two copies of the first load's warehouse."""
    root = tmp_path_factory.mktemp("backfill")
    sources = root / "sources"
    shutil.copytree(first_load.sources, sources)
    ids = {
        kind: {day: change(sources, day) for day in (DAY, LATER)}
        for kind, change in (
            ("event", _change_event),
            ("ticket", _change_ticket),
            ("order", _change_order),
        )
    }
    return sources, ids, root


@pytest.fixture(scope="module")
def windowed(changed, first_load):
    sources, _, root = changed
    warehouse = copy_load(first_load, root / "windowed")
    before = _cursors(warehouse)
    rows = run_ingestion(sources, warehouse, window=WINDOW)
    return warehouse, rows, before, _cursors(warehouse)


def test_window_run_takes_the_days_changes_only(changed, windowed):
    _, ids, _ = changed
    warehouse = windowed[0]

    def value(sql: str, key: str):
        return query(warehouse, sql, key)[0][0]

    event = "select page_url from raw_clickstream.events where event_id = ?"
    ticket = "select staff_id from raw_pos.transactions where transaction_id = ?"
    order = "select email from raw_ecommerce.orders where id = ?"
    assert value(event, ids["event"][DAY]) == f"/{_mark(DAY)}"
    assert value(ticket, ids["ticket"][DAY]) == _mark(DAY)
    assert value(order, ids["order"][DAY]) == f"{_mark(DAY)}@example.com"
    assert value(event, ids["event"][LATER]) != f"/{_mark(LATER)}"
    assert value(ticket, ids["ticket"][LATER]) != _mark(LATER)
    assert value(order, ids["order"][LATER]) != f"{_mark(LATER)}@example.com"


def test_window_run_duplicates_nothing_and_reconciles(first_load, windowed):
    warehouse, rows, _, _ = windowed
    assert {(r["source_system"], r["resource"]) for r in rows} == {
        (system, resource) for system in EVENT_SYSTEMS for resource in WINDOW_RESOURCES[system]
    }
    for row in rows:
        system, resource = row["source_system"], row["resource"]
        assert row["received"] == row["loaded"] + row["quarantined"], row
        before = distinct_keys(first_load.warehouse, system, resource)
        assert distinct_keys(warehouse, system, resource) == before, f"{system}.{resource}"


def test_window_run_reads_exactly_the_days_records(first_load, windowed):
    """Re-extracted counts equal the day's records in the first load: no more, no less."""
    _, rows, _, _ = windowed
    received = {(r["source_system"], r["resource"]): r["received"] for r in rows}
    wh = first_load.warehouse
    start, end = WINDOW
    # Files: what the partitions of the window hold (late events included, by partition).
    in_partition = sum(
        len(gzip.decompress(p.read_bytes()).splitlines())
        for p in (first_load.sources / "clickstream").glob("dt=*/events-*.jsonl.gz")
        if in_window(p.relative_to(first_load.sources / "clickstream").as_posix(), WINDOW)
    )
    assert received[("clickstream", "events")] == in_partition > 0
    (tickets,) = query(
        wh,
        "select count(*) from raw_pos.transactions where occurred_at >= ? and occurred_at < ?",
        start,
        end,
    )[0]
    (lines,) = query(
        wh,
        "select count(*) from raw_pos.transaction_lines join raw_pos.transactions "
        "using (transaction_id) where occurred_at >= ? and occurred_at < ?",
        start,
        end,
    )[0]
    assert received[("pos", "transactions")] == tickets > 0
    assert received[("pos", "transaction_lines")] == lines > tickets
    (orders,) = query(
        wh,
        "select count(*) from raw_ecommerce.orders "
        "where (created_at at time zone 'Europe/Madrid')::date = ?",
        start,
    )[0]
    assert received[("ecommerce", "orders")] == orders > 0


def test_window_run_leaves_the_incremental_state_alone(windowed):
    _, _, before, after = windowed
    assert after == before


def test_next_normal_run_still_fetches_the_later_change(changed, windowed):
    """D+2's change is older than D's: only untouched cursors let a normal run see it."""
    sources, ids, _ = changed
    warehouse = windowed[0]
    rows = run_ingestion(sources, warehouse, systems=list(EVENT_SYSTEMS))
    assert all(r["received"] == r["loaded"] + r["quarantined"] for r in rows)

    def value(sql: str, key: str):
        return query(warehouse, sql, key)[0][0]

    event = "select page_url from raw_clickstream.events where event_id = ?"
    ticket = "select staff_id from raw_pos.transactions where transaction_id = ?"
    order = "select email from raw_ecommerce.orders where id = ?"
    assert value(event, ids["event"][LATER]) == f"/{_mark(LATER)}"
    assert value(ticket, ids["ticket"][LATER]) == _mark(LATER)
    assert value(order, ids["order"][LATER]) == f"{_mark(LATER)}@example.com"


@pytest.mark.parametrize("system", ["crm"])
def test_reference_systems_have_no_window(system, tmp_path):
    with pytest.raises(ValueError, match="no backfill window"):
        make_source(system, tmp_path, window=WINDOW)


def test_window_must_not_be_empty(tmp_path):
    with pytest.raises(ValueError, match="empty window"):
        make_source("clickstream", tmp_path, window=(DAY, DAY))
