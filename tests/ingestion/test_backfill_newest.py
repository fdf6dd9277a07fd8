"""A backfill window never brings back an older version of a key.

A file drop keeps the newest delivered version of a key (test_newest_delivery.py). A window
run reads the files of its `dt=` partitions; when a key of those files was delivered again
later in a partition outside the window, the window's version is the older one: the run
sets it aside (quarantined, naming the newer file) and the warehouse keeps the newer
version. When the window's file is itself the latest delivery, its version wins."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from drop_files import SPEND_HEADER, conversation, deliver, delivery, event, run_counts
from ingest_helpers import query, table_rows

DAY, NEXT, AFTER = "2025-09-10", "2025-09-11", "2025-09-12"
WINDOW = (DAY, NEXT)
# Delivery times (modification dates) of the partitions' files: a day apart, in order.
DELIVERED = {DAY: 1_757_559_600, NEXT: 1_757_646_000, AFTER: 1_757_732_400}
SYSTEMS = ("clickstream", "messaging", "marketing")


DROP = {
    DAY: {
        "clickstream/events-0.jsonl.gz": [event("e1", "/old"), event("e2", "/only-old")],
        "messaging/deliveries-0.jsonl.gz": [
            delivery("d1-sent", "old@example.com"),
            delivery("d2-sent", "only-old@example.com"),
        ],
        "messaging/conversations-0.jsonl.gz": [
            conversation("C1", ["hola", "sigo esperando", "gracias"], csat=2),
            conversation("C2", ["una pregunta"], csat=5),
        ],
        "marketing/spend.csv": SPEND_HEADER
        + f"{DAY},paid_search,CMP-1,10.00,100,5,EUR\n{DAY},display,CMP-2,3.00,50,1,EUR\n",
    },
    NEXT: {
        # A line no parser reads: the outside file's keys are still found.
        "clickstream/events-0.jsonl.gz": [event("e1", "/new"), event("e3", "/only-new"), "{"],
        "messaging/deliveries-0.jsonl.gz": [delivery("d1-sent", "new@example.com")],
        "messaging/conversations-0.jsonl.gz": [conversation("C1", ["resuelto"], csat=4)],
        # A correction of the window's day, delivered with the next day's own row.
        "marketing/spend.csv": SPEND_HEADER
        + f"{DAY},paid_search,CMP-1,12.50,120,6,EUR\n{NEXT},display,CMP-2,4.00,60,2,EUR\n",
    },
}


def _deliver(sources: Path, day: str, delivered_at: int, drop: dict | None = None) -> None:
    """Write one day's partition of every system, stamped with its delivery time."""
    deliver(sources, day, drop or DROP[day], delivered_at)


def _run(sources: Path, warehouse: Path, window=None, systems=SYSTEMS) -> dict:
    return run_counts(sources, warehouse, systems, window)


def _window_quarantine(warehouse: Path, system: str) -> list[tuple[str, str, dict]]:
    """The quarantine rows of the system's latest load (the window run)."""
    rows = query(
        warehouse,
        f"select resource, reason, payload from raw_{system}._quarantine where _dlt_load_id = "
        f"(select max(load_id) from raw_audit.load_reconciliation where source_system = ?)",
        system,
    )
    return sorted((resource, reason, json.loads(payload)) for resource, reason, payload in rows)


def _messages(warehouse: Path) -> list[tuple]:
    return query(
        warehouse,
        "select c.conversation_id, c.csat, m.message_id, m.body "
        "from raw_messaging.conversations c "
        "join raw_messaging.conversations__messages m on m._dlt_root_id = c._dlt_id order by all",
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Both days delivered in order and loaded by a normal run."""
    root = tmp_path_factory.mktemp("backfill_newest")
    sources, warehouse = root / "sources", root / "warehouse.duckdb"
    _deliver(sources, DAY, DELIVERED[DAY])
    _deliver(sources, NEXT, DELIVERED[NEXT])
    _run(sources, warehouse)
    return sources, warehouse, table_rows(warehouse), _messages(warehouse)


@pytest.fixture(scope="module")
def backfilled(loaded):
    sources, warehouse, before, messages = loaded
    return warehouse, _run(sources, warehouse, window=WINDOW), before, messages


def test_the_normal_run_loads_the_newest_versions(loaded):
    _, warehouse, _, messages = loaded
    assert dict(query(warehouse, "select event_id, page_url from raw_clickstream.events")) == {
        "e1": "/new",
        "e2": "/only-old",
        "e3": "/only-new",
    }
    assert ("C1", 4, "C1-0", "resuelto") in messages


def test_a_backfill_keeps_the_newer_versions_delivered_outside_its_window(backfilled):
    warehouse, _, before, messages = backfilled
    assert dict(query(warehouse, "select event_id, page_url from raw_clickstream.events")) == {
        "e1": "/new",
        "e2": "/only-old",
        "e3": "/only-new",
    }
    assert query(
        warehouse, "select event_id, recipient from raw_messaging.deliveries order by 1"
    ) == [("d1-sent", "new@example.com"), ("d2-sent", "only-old@example.com")]
    assert query(
        warehouse,
        "select channel, spend::varchar, clicks from raw_marketing.spend "
        f"where date = '{DAY}' order by all",
    ) == [("display", "3.00", 1), ("paid_search", "12.50", 6)]
    # The conversation keeps its newest version and only that version's messages.
    assert (
        _messages(warehouse)
        == messages
        == [
            ("C1", 4, "C1-0", "resuelto"),
            ("C2", 5, "C2-0", "una pregunta"),
        ]
    )
    # Nothing was delivered anew: the backfill leaves every raw table as it found it.
    assert table_rows(warehouse) == before


def test_the_older_versions_are_quarantined_naming_the_newer_file_and_counts_reconcile(
    backfilled,
):
    warehouse, counts, _, _ = backfilled
    # Only the window's files are received: the outside file's keys are read, not its rows.
    assert counts == {
        ("clickstream", "events"): (2, 1, 1),
        ("messaging", "conversations"): (2, 1, 1),
        ("messaging", "deliveries"): (2, 1, 1),
        ("marketing", "spend"): (2, 1, 1),
    }
    newer = f"superseded by a newer delivery of the same key in dt={NEXT}/"
    outside = " (outside the backfill window), loaded instead"
    ((_, event, payload),) = _window_quarantine(warehouse, "clickstream")
    assert event == (
        f"contract: duplicate primary key `event_id`='e1' in dt={DAY}/events-0.jsonl.gz "
        f"{newer}events-0.jsonl.gz{outside}"
    )
    assert payload["page_url"] == "/old"
    conversation, delivery = _window_quarantine(warehouse, "messaging")
    assert conversation[0] == "conversations"
    assert f"{newer}conversations-0.jsonl.gz{outside}" in conversation[1]
    # The set-aside version keeps its messages in the payload: nothing is lost.
    assert [m["body"] for m in conversation[2]["messages"]] == ["hola", "sigo esperando", "gracias"]
    assert delivery[0] == "deliveries" and f"{newer}deliveries-0.jsonl.gz{outside}" in delivery[1]
    assert delivery[2]["recipient"] == "old@example.com"
    ((_, spend, payload),) = _window_quarantine(warehouse, "marketing")
    assert f"`campaign_id`='CMP-1' in dt={DAY}/spend.csv {newer}spend.csv{outside}" in spend
    assert payload["spend"] in ("10.00", "10.0", 10.0)
    assert query(
        warehouse,
        "select count(*) from raw_audit.load_reconciliation "
        "where received <> loaded + quarantined + coalesce(suppressed, 0)",
    ) == [(0,)]


def test_a_window_file_delivered_again_after_the_outside_copy_wins(loaded, tmp_path):
    """The delivery time decides: the window's file re-exported after the next day's holds
    the newest version, and the backfill loads it."""
    sources = tmp_path / "sources"
    shutil.copytree(loaded[0], sources)
    warehouse = tmp_path / "warehouse.duckdb"
    _run(sources, warehouse)
    _deliver(sources, DAY, DELIVERED[AFTER])
    counts = _run(sources, warehouse, window=WINDOW)
    assert counts == {
        ("clickstream", "events"): (2, 2, 0),
        ("messaging", "conversations"): (2, 2, 0),
        ("messaging", "deliveries"): (2, 2, 0),
        ("marketing", "spend"): (2, 2, 0),
    }
    assert query(
        warehouse, "select page_url from raw_clickstream.events where event_id = 'e1'"
    ) == [("/old",)]
    assert query(
        warehouse, "select recipient from raw_messaging.deliveries where event_id = 'd1-sent'"
    ) == [("old@example.com",)]
    assert query(
        warehouse,
        f"select spend::varchar from raw_marketing.spend where date = '{DAY}' "
        "and campaign_id = 'CMP-1'",
    ) == [("10.00",)]
    assert [m for m in _messages(warehouse) if m[0] == "C1"] == [
        ("C1", 2, "C1-0", "hola"),
        ("C1", 2, "C1-1", "sigo esperando"),
        ("C1", 2, "C1-2", "gracias"),
    ]


def test_each_window_key_takes_its_newest_delivery_inside_or_outside(tmp_path):
    """Deliveries interleave: the window's second day was delivered last, the day after the
    window in between. A key in all three loads the window's latest file; a key the outside
    file has again keeps the outside version; the oldest copies are set aside naming the
    file that superseded each."""
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    drops = {
        DAY: [event("e1", "/day"), event("e2", "/day")],
        NEXT: [event("e1", "/next")],
        AFTER: [event("e1", "/after"), event("e2", "/after")],
    }
    stamps = {DAY: DELIVERED[DAY], AFTER: DELIVERED[NEXT], NEXT: DELIVERED[AFTER]}
    for day, events in drops.items():
        _deliver(sources, day, stamps[day], {"clickstream/events-0.jsonl.gz": events})
    _run(sources, warehouse, systems=["clickstream"])
    counts = _run(sources, warehouse, window=(DAY, AFTER), systems=["clickstream"])
    assert counts == {("clickstream", "events"): (3, 1, 2)}
    assert dict(query(warehouse, "select event_id, page_url from raw_clickstream.events")) == {
        "e1": "/next",
        "e2": "/after",
    }
    reasons = sorted(reason for _, reason, _ in _window_quarantine(warehouse, "clickstream"))
    assert reasons == [
        f"contract: duplicate primary key `event_id`='e1' in dt={DAY}/events-0.jsonl.gz "
        f"superseded by a newer delivery of the same key in dt={NEXT}/events-0.jsonl.gz, "
        "loaded instead",
        f"contract: duplicate primary key `event_id`='e2' in dt={DAY}/events-0.jsonl.gz "
        f"superseded by a newer delivery of the same key in dt={AFTER}/events-0.jsonl.gz "
        "(outside the backfill window), loaded instead",
    ]
