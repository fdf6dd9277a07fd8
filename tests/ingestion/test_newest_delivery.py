"""A file drop merged on its keys keeps the newest delivered version of a key, also when
several days of files arrive in one load (a first load, a run after an outage): the older
versions go to quarantine saying which delivery superseded them, nothing is lost, and the
warehouse ends as runs one delivery at a time would leave it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from drop_files import SPEND_HEADER, conversation, deliver, delivery, event, run_counts
from ingest_helpers import query

from ingestion import files
from ingestion.pipelines import run_system

OLD_DAY, NEW_DAY = "2025-09-10", "2025-09-11"
# Delivery times of the two partitions' files (modification dates): a day apart.
DELIVERED = {OLD_DAY: 1_757_559_600, NEW_DAY: 1_757_646_000}

SYSTEMS = ("clickstream", "messaging", "marketing")
# Each raw table and the columns two runs fill differently: the load id (a conversation's row
# id is its key's hash; spend, like events, has none).
TABLES = {
    "clickstream": {"events": "_dlt_load_id"},
    "messaging": {
        "deliveries": "_dlt_load_id",
        "conversations": "_dlt_load_id",
        "conversations__messages": "_dlt_load_id",
    },
    "marketing": {"spend": "_dlt_load_id"},
}


DROP = {
    OLD_DAY: {
        "clickstream/events-0.jsonl.gz": [event("e1", "/old"), event("e2", "/only-old")],
        "messaging/deliveries-0.jsonl.gz": [delivery("d1-sent", "old@example.com")],
        "messaging/conversations-0.jsonl.gz": [
            conversation("C1", ["hola", "sigo esperando", "gracias"], csat=2),
            conversation("C2", ["una pregunta"], csat=5),
        ],
        "marketing/spend.csv": SPEND_HEADER
        + f"{OLD_DAY},paid_search,CMP-1,10.00,100,5,EUR\n{OLD_DAY},display,CMP-2,3.00,50,1,EUR\n",
    },
    NEW_DAY: {
        "clickstream/events-0.jsonl.gz": [event("e1", "/new"), event("e3", "/only-new")],
        "messaging/deliveries-0.jsonl.gz": [delivery("d1-sent", "new@example.com")],
        "messaging/conversations-0.jsonl.gz": [conversation("C1", ["resuelto"], csat=4)],
        # A correction of the day before, delivered with the day's own row.
        "marketing/spend.csv": SPEND_HEADER
        + f"{OLD_DAY},paid_search,CMP-1,12.50,120,6,EUR\n{NEW_DAY},display,CMP-2,4.00,60,2,EUR\n",
    },
}


def _deliver(sources: Path, day: str, delivered_at: int | None = None) -> None:
    """Write one day's partition of every system, stamped with its delivery time."""
    deliver(sources, day, DROP[day], DELIVERED[day] if delivered_at is None else delivered_at)


def _load(sources: Path, warehouse: Path) -> dict[tuple[str, str], tuple[int, int, int]]:
    return run_counts(sources, warehouse, SYSTEMS)


def _tables(warehouse: Path) -> dict[str, list[tuple]]:
    out = {}
    for system, tables in TABLES.items():
        for table, varying in tables.items():
            name = f"raw_{system}.{table}"
            out[name] = query(warehouse, f"select * exclude ({varying}) from {name} order by all")
    return out


def _quarantine(warehouse: Path, system: str) -> list[tuple[str, str, dict]]:
    rows = query(warehouse, f"select resource, reason, payload from raw_{system}._quarantine")
    return sorted((resource, reason, json.loads(payload)) for resource, reason, payload in rows)


@pytest.fixture(scope="module")
def together(tmp_path_factory):
    """Both days' files delivered before one run (a first load, or after an outage)."""
    root = tmp_path_factory.mktemp("together")
    sources, warehouse = root / "sources", root / "warehouse.duckdb"
    _deliver(sources, OLD_DAY)
    _deliver(sources, NEW_DAY)
    return sources, warehouse, _load(sources, warehouse)


def test_the_newest_delivery_of_a_key_loads(together):
    _, warehouse, _ = together
    assert dict(query(warehouse, "select event_id, page_url from raw_clickstream.events")) == {
        "e1": "/new",
        "e2": "/only-old",
        "e3": "/only-new",
    }
    assert query(warehouse, "select event_id, recipient from raw_messaging.deliveries") == [
        ("d1-sent", "new@example.com")
    ]
    assert query(
        warehouse,
        "select date::varchar, channel, campaign_id, spend::varchar, clicks "
        "from raw_marketing.spend order by all",
    ) == [
        (OLD_DAY, "display", "CMP-2", "3.00", 1),
        (OLD_DAY, "paid_search", "CMP-1", "12.50", 6),
        (NEW_DAY, "display", "CMP-2", "4.00", 2),
    ]


def test_a_conversation_keeps_the_newest_version_and_only_its_messages(together):
    _, warehouse, _ = together
    assert query(
        warehouse, "select conversation_id, csat from raw_messaging.conversations order by 1"
    ) == [("C1", 4), ("C2", 5)]
    assert query(
        warehouse,
        "select c.conversation_id, m.message_id, m.body from raw_messaging.conversations c "
        "join raw_messaging.conversations__messages m on m._dlt_root_id = c._dlt_id "
        "order by all",
    ) == [("C1", "C1-0", "resuelto"), ("C2", "C2-0", "una pregunta")]


def test_the_older_versions_are_quarantined_as_superseded_and_counts_reconcile(together):
    _, warehouse, counts = together
    assert counts == {
        ("clickstream", "events"): (4, 3, 1),
        ("messaging", "conversations"): (3, 2, 1),
        ("messaging", "deliveries"): (2, 1, 1),
        ("marketing", "spend"): (4, 3, 1),
    }
    superseded = "superseded by a newer delivery of the same key in dt=2025-09-11/"
    (event,) = _quarantine(warehouse, "clickstream")
    assert event[2]["page_url"] == "/old"
    assert f"`event_id`='e1' in dt={OLD_DAY}/events-0.jsonl.gz {superseded}events-0" in event[1]
    conversation, delivery = _quarantine(warehouse, "messaging")
    assert conversation[0] == "conversations" and superseded + "conversations-0" in conversation[1]
    # The set-aside version keeps its messages in the payload: nothing is lost.
    assert [m["body"] for m in conversation[2]["messages"]] == ["hola", "sigo esperando", "gracias"]
    assert delivery[0] == "deliveries" and superseded + "deliveries-0" in delivery[1]
    assert delivery[2]["recipient"] == "old@example.com"
    (spend,) = _quarantine(warehouse, "marketing")
    assert "`date`=2025-09-10, `channel`='paid_search', `campaign_id`='CMP-1'" in spend[1]
    assert superseded + "spend.csv" in spend[1]
    assert spend[2]["spend"] in ("10.00", "10.0", 10.0)
    assert query(
        warehouse,
        "select count(*) from raw_audit.load_reconciliation where received <> loaded + quarantined",
    ) == [(0,)]


def test_one_load_of_both_days_equals_one_run_perdelivery(together, tmp_path):
    _, warehouse, _ = together
    sources, apart = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    _deliver(sources, OLD_DAY)
    _load(sources, apart)
    _deliver(sources, NEW_DAY)
    _load(sources, apart)
    assert _tables(apart) == _tables(warehouse)


def test_a_late_redelivery_of_an_older_partition_wins_by_its_delivery_time(together, tmp_path):
    """The delivery time decides, not the partition name: the old day's file sent again
    after the new day's (a re-export) holds the newest version, as two runs would load it."""
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    shutil.copytree(together[0] / "clickstream", sources / "clickstream")
    _deliver(sources, OLD_DAY, delivered_at=DELIVERED[NEW_DAY] + 3600)
    (events,) = [
        r for r in run_system("clickstream", sources, warehouse) if r["resource"] == "events"
    ]
    assert (events["received"], events["loaded"], events["quarantined"]) == (4, 3, 1)
    assert dict(query(warehouse, "select event_id, page_url from raw_clickstream.events")) == {
        "e1": "/old",
        "e2": "/only-old",
        "e3": "/only-new",
    }
    ((reason,),) = query(warehouse, "select reason from raw_clickstream._quarantine")
    assert f"in dt={NEW_DAY}/events-0.jsonl.gz superseded by" in reason
    # The newest file was read first, yet the listing's cursor ended at the newest delivery:
    # the next run reads no file again.
    (again,) = [
        r for r in run_system("clickstream", sources, warehouse) if r["resource"] == "events"
    ]
    assert (again["received"], again["loaded"], again["quarantined"]) == (0, 0, 0)


def test_each_file_its_own_batch_still_names_the_file_that_loaded(tmp_path, monkeypatch):
    """A key met again after the batch holding its newest version was handed to dlt (large
    loads yield many batches) is set aside the same way, naming that earlier batch's file."""
    monkeypatch.setattr(files, "ARROW_BATCH_ROWS", 1)
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    for n, day in enumerate(("2025-09-01", "2025-09-02", "2025-09-03")):
        lines = [event("e1", f"/{day}"), event(f"only-{day}", "/p")]
        deliver(sources, day, {"clickstream/events-0.jsonl.gz": lines}, DELIVERED[OLD_DAY] + n)
    (events,) = [
        r for r in run_system("clickstream", sources, warehouse) if r["resource"] == "events"
    ]
    assert (events["received"], events["loaded"], events["quarantined"]) == (6, 4, 2)
    assert query(
        warehouse, "select page_url from raw_clickstream.events where event_id = 'e1'"
    ) == [("/2025-09-03",)]
    reasons = sorted(
        r for (r,) in query(warehouse, "select reason from raw_clickstream._quarantine")
    )
    assert reasons == [
        f"contract: duplicate primary key `event_id`='e1' in dt={day}/events-0.jsonl.gz "
        "superseded by a newer delivery of the same key in dt=2025-09-03/events-0.jsonl.gz, "
        "loaded instead"
        for day in ("2025-09-01", "2025-09-02")
    ]
