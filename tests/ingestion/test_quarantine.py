"""Bad input lands in quarantine with its reason, good input beside it still loads, and
every run reconciles: received = loaded + quarantined."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import zlib
from datetime import datetime

import pytest
from ingest_helpers import query

from ingestion.pipelines import make_pipeline, run_ingestion

GOOD_EVENT = {
    "event_id": "qa-good-1",
    "anonymous_id": "anon-qa",
    "user_id": None,
    "platform": "web",
    "event_type": "page_view",
    "occurred_at": "2025-09-05T10:00:00Z",
    "page_url": "/",
    "sku": None,
    "order_id": None,
    "utm_source": None,
    "utm_medium": None,
    "utm_campaign": None,
}


def _write_gz(path, lines: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")


@pytest.fixture(scope="module")
def damaged(first_load, tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged")
    sources = root / "sources"
    shutil.copytree(first_load.sources, sources)
    part = sources / "clickstream" / "dt=2025-09-05"
    _write_gz(
        part / "events-qa.jsonl.gz",
        [
            json.dumps(GOOD_EVENT).encode(),
            b'{"event_id": "qa-broken", "platform": "web"',  # malformed JSON line
            json.dumps({**GOOD_EVENT, "event_id": None}).encode(),  # missing primary key
            b'{"event_id": "qa-latin1", "page_url": "/ni\xf1os"}',  # undecodable bytes
            json.dumps({**GOOD_EVENT, "event_id": "qa-good-2"}).encode(),
        ],
    )
    # A truncated gzip file: its complete lines still load, the tail is quarantined.
    victim = sorted((sources / "clickstream").glob("dt=*/events-*.jsonl.gz"))[0]
    full_lines = gzip.decompress(victim.read_bytes()).splitlines()
    blob = victim.read_bytes()
    victim.write_bytes(blob[: len(blob) // 2])
    # A POS ticket without its key (SQLite accepts NULL in a TEXT primary key).
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        cols = [r[1] for r in con.execute("pragma table_info(transactions)")]
        first = con.execute("select * from transactions limit 1").fetchone()
        row = dict(zip(cols, first, strict=True))
        row["transaction_id"] = None
        con.execute(
            f"insert into transactions ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
            list(row.values()),
        )
    # CRM records the API serves: no id, a cursor that is not a time, a mistyped count.
    with sqlite3.connect(sources / "crm" / "crm.sqlite") as con:
        (doc,) = con.execute("select doc from contacts order by updated_at desc limit 1").fetchone()
        contact = json.loads(doc)
        (doc,) = con.execute("select doc from loyalty_accounts limit 1").fetchone()
        account = json.loads(doc)
        bad = [
            ("contacts", "qa-no-id", {**contact, "id": None}),
            ("contacts", "qa-bad-cursor", {**contact, "id": "qa-bad-cursor", "updated_at": "n/a"}),
            ("loyalty_accounts", "qa-lots", {**account, "id": "qa-lots", "points_balance": "lots"}),
        ]
        for entity, key, record in bad:
            con.execute(
                f"insert into {entity} (id, updated_at, doc) values (?, ?, ?)",
                (key, contact["updated_at"], json.dumps(record)),
            )
    warehouse = root / "wh" / "warehouse.duckdb"
    rows = run_ingestion(sources, warehouse, systems=("crm", "clickstream", "pos"))
    return warehouse, rows, victim, len(full_lines)


def test_every_bad_kind_is_quarantined_with_its_reason(damaged):
    warehouse, _, victim, _ = damaged
    reasons = [r for (r,) in query(warehouse, "select reason from raw_clickstream._quarantine")]
    assert any(r.startswith("malformed JSON at dt=2025-09-05/events-qa") for r in reasons)
    assert any(r.startswith("undecodable bytes at dt=2025-09-05/events-qa") for r in reasons)
    assert any(r == "contract: missing primary key `event_id`" for r in reasons)
    assert any(r.startswith("file: truncated gzip file") and victim.name in r for r in reasons)
    (pos_reason,) = query(warehouse, "select reason from raw_pos._quarantine")[0]
    assert pos_reason == "contract: missing primary key `transaction_id`"


def test_bad_api_records_are_quarantined_and_the_cursor_stays_a_timestamp(damaged):
    warehouse, *_ = damaged
    reasons = sorted(query(warehouse, "select resource, reason from raw_crm._quarantine"))
    assert reasons == [
        ("contacts", "contract: field `updated_at`: expected an ISO 8601 timestamp, got 'n/a'"),
        ("contacts", "contract: missing primary key `id`"),
        ("loyalty_accounts", "contract: field `points_balance`: expected an integer, got 'lots'"),
    ]
    pipeline = make_pipeline("crm", warehouse)
    cursor = pipeline.state["sources"]["crm"]["resources"]["contacts"]["incremental"]
    assert datetime.fromisoformat(cursor["updated_at"]["last_value"]).year == 2025
    (loaded,) = query(warehouse, "select count(*) from raw_crm.contacts where id like 'qa-%'")[0]
    assert loaded == 0


def test_payload_keeps_the_rejected_input(damaged):
    warehouse, *_ = damaged
    payloads = [
        json.loads(p)
        for (p,) in query(
            warehouse, "select payload from raw_clickstream._quarantine where resource = 'events'"
        )
    ]
    assert {"raw": '{"event_id": "qa-broken", "platform": "web"'} in payloads
    assert any(p.get("raw", "").startswith('{"event_id": "qa-latin1"') for p in payloads)
    assert any(p.get("anonymous_id") == "anon-qa" and p.get("event_id") is None for p in payloads)


def _complete_lines_before_truncation(path) -> int:
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    data = inflater.decompress(path.read_bytes())
    return data.count(b"\n")


def test_good_rows_beside_bad_ones_still_load(damaged, first_load):
    warehouse, _, victim, full_lines = damaged
    qa = {
        e
        for (e,) in query(
            warehouse, "select event_id from raw_clickstream.events where event_id like 'qa-%'"
        )
    }
    assert qa == {"qa-good-1", "qa-good-2"}
    salvaged = _complete_lines_before_truncation(victim)
    assert 0 < salvaged < full_lines
    (events,) = query(warehouse, "select count(*) from raw_clickstream.events")[0]
    (first_events,) = query(first_load.warehouse, "select count(*) from raw_clickstream.events")[0]
    # Only the truncated file's unreadable tail is missing from the events table.
    assert events == first_events - full_lines + salvaged + 2


def test_reconciliation_identity_holds_with_bad_input(damaged):
    warehouse, rows, _, _ = damaged
    quarantined = {r["resource"]: r["quarantined"] for r in rows}
    assert quarantined["events"] == 4 and quarantined["transactions"] == 1
    assert quarantined["contacts"] == 2 and quarantined["loyalty_accounts"] == 1
    for row in rows:
        assert row["received"] == row["loaded"] + row["quarantined"], row
    (broken,) = query(
        warehouse,
        "select count(*) from raw_audit.load_reconciliation where received <> loaded + quarantined",
    )[0]
    assert broken == 0
