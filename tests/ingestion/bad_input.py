"""A corpus of bad input, crafted into a copy of a small sandbox world.

Each ``Case`` is one kind of damage a real source sends, written where that source would
send it (a gzip JSONL drop, a CSV drop, the POS database, the REST APIs' stores), with a
marker string that finds its quarantine row again. Good records written beside the bad ones
(``GOOD_KEYS``) must load.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    kind: str
    system: str
    resource: str
    marker: str  # a string inside the rejected payload
    reason: str  # what the quarantine reason must say


CASES = (
    Case("malformed JSON", "clickstream", "events", "qa-malformed", "malformed JSON at dt="),
    Case("invalid encoding", "clickstream", "events", "qa-latin1", "undecodable bytes at dt="),
    Case("missing primary key", "clickstream", "events", "qa-nokey", "missing primary key"),
    Case("missing required field", "clickstream", "events", "qa-no-type", "`event_type`"),
    Case("wrong type", "clickstream", "events", "qa-bad-time", "contract: wrong type at dt="),
    Case("not an object", "clickstream", "events", "qa-array", "expected a JSON object"),
    Case("two records on a line", "clickstream", "events", "qa-two", "malformed JSON"),
    Case("date in the future", "clickstream", "events", "qa-future", "date in the future"),
    Case("oversize field", "clickstream", "events", "qa-oversize", "oversize value"),
    Case("duplicate id", "clickstream", "events", "qa-dup-old", "duplicate primary key"),
    Case("column renamed upstream", "clickstream", "events", "qa-renamed", "`occurred_at`"),
    Case("truncated gzip", "clickstream", "events", "events-qa-trunc", "truncated gzip file"),
    Case("corrupt gzip", "clickstream", "events", "events-qa-corrupt", "corrupt gzip stream"),
    Case("nested wrong type", "messaging", "conversations", "qa-msg-time", "messages[]"),
    Case("wrong type in a dict", "messaging", "conversations", "qa-csat", "field `csat`"),
    Case("amount with a comma", "marketing", "spend", "QA-COMMA", "field `spend`"),
    Case("negative amount", "marketing", "spend", "QA-NEGATIVE", "negative"),
    Case("short CSV row", "marketing", "spend", "QA-SHORT", "missing"),
    Case("missing key in SQL", "pos", "transactions", "qa-nokey-staff", "`transaction_id`"),
    Case("unknown store", "pos", "transactions", "qa-unknown-store", "unknown stores 'ST999'"),
    Case("negative quantity", "pos", "transaction_lines", "SKU-QA-NEG", "negative"),
    Case("cursor in the future", "pos", "transactions", "qa-future-ticket", "in the future"),
    Case("REST missing id", "crm", "contacts", "qa-no-id@example.com", "`id`"),
    Case("REST cursor not a time", "crm", "contacts", "qa-bad-cursor", "`updated_at`"),
    Case("REST wrong type", "crm", "loyalty_accounts", "qa-lots", "`points_balance`"),
    Case("REST money as text", "ecommerce", "orders", "qa-comma-order", "`total_price`"),
    Case("REST negative nested", "ecommerce", "orders", "qa-neg-line", "negative"),
)

# (system, table) -> primary keys of the good records written among the bad ones.
GOOD_KEYS = {
    ("clickstream", "events"): {
        ("qa-good-1",),
        ("qa-good-2",),
        ("qa-dup",),
        ("qa-new-column",),
        ("qa-corrupt-0",),
    },
    ("messaging", "conversations"): {("qa-conv-good",)},
    ("marketing", "spend"): {("2025-09-05", "paid_search", "QA-GOOD")},
    ("pos", "transactions"): {("qa-good-ticket",)},
    ("pos", "transaction_lines"): {("qa-good-ticket", 1), ("qa-good-ticket", 3)},
    ("crm", "contacts"): {("qa-good-contact",)},
    ("ecommerce", "orders"): {("qa-good-order",)},
}
# Loaded, reported in raw_audit.schema_changes.
NEW_COLUMN = ("events", "device_model")
# Loaded, flagged in raw_audit.reference_flags.
UNKNOWN_SKU_LINE = "qa-good-ticket/3"

DAY = "2025-09-05"
EVENT = {
    "event_id": "qa-good-1",
    "anonymous_id": "anon-qa",
    "user_id": None,
    "platform": "web",
    "event_type": "page_view",
    "occurred_at": f"{DAY}T10:00:00Z",
    "page_url": "/",
    "sku": None,
    "order_id": None,
    "utm_source": None,
    "utm_medium": None,
    "utm_campaign": None,
}


def _event(**change) -> bytes:
    return json.dumps({**EVENT, **change}).encode()


def _gz(lines: list[bytes]) -> bytes:
    return gzip.compress(b"\n".join(lines) + b"\n")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _clickstream(sources: Path) -> set[tuple[str]]:
    """Returns the keys of the truncated file's complete lines, which must load."""
    part = sources / "clickstream" / f"dt={DAY}"
    renamed = {**EVENT, "event_id": "qa-renamed", "event_time": EVENT["occurred_at"]}
    del renamed["occurred_at"]
    no_type = {**EVENT, "event_id": "qa-no-type"}
    del no_type["event_type"]
    lines = [
        _event(),
        b'{"event_id": "qa-malformed", "platform": "web"',
        b'{"event_id": "qa-latin1", "page_url": "/ni\xf1os", "event_type": "page_view"}',
        _event(event_id=None, anonymous_id="qa-nokey"),
        json.dumps(no_type).encode(),
        _event(event_id="qa-bad-time", occurred_at="yesterday"),
        b'["qa-array", 1]',
        _event(event_id="qa-two") + b" " + _event(event_id="qa-two-b"),
        _event(event_id="qa-future", occurred_at="2099-01-01T00:00:00Z"),
        _event(event_id="qa-oversize", page_url="/" + "x" * 10_000),
        _event(event_id="qa-dup", page_url="/qa-dup-old"),
        _event(event_id="qa-dup", page_url="/qa-dup-new"),
        json.dumps(renamed).encode(),
        _event(event_id="qa-new-column", device_model="Pixel 9"),
        _event(event_id="qa-good-2"),
    ]
    _write(part / "events-qa.jsonl.gz", _gz(lines))
    # Big enough that cutting it in half leaves complete lines before the damage.
    trunc = [_event(event_id=f"qa-trunc-{i}", page_url="/p" * 40) for i in range(80)]
    blob = _gz(trunc)[: len(_gz(trunc)) // 2]
    _write(part / "events-qa-trunc.jsonl.gz", blob)
    complete = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(blob).count(b"\n")
    assert 0 < complete < len(trunc)
    corrupt = _gz([_event(event_id="qa-corrupt-0")]) + b"\x1f\x8b\x08\x00garbage-not-deflate"
    _write(part / "events-qa-corrupt.jsonl.gz", corrupt)
    return {(f"qa-trunc-{i}",) for i in range(complete)}


def _messaging(sources: Path) -> None:
    conversation = {
        "conversation_id": "qa-conv-good",
        "channel": "chat",
        "customer_email": "qa@example.com",
        "customer_phone": None,
        "customer_handle": None,
        "topic": "qa",
        "started_at": f"{DAY}T09:00:00Z",
        "first_response_at": f"{DAY}T09:05:00Z",
        "resolved_at": f"{DAY}T09:30:00Z",
        "csat": 5,
        "messages": [
            {
                "message_id": "qa-m1",
                "sender": "customer",
                "sent_at": f"{DAY}T09:00:00Z",
                "body": "?",
            }
        ],
    }
    bad_message = {**conversation["messages"][0], "message_id": "qa-m2", "sent_at": "soon"}
    lines = [
        json.dumps(conversation).encode(),
        json.dumps(
            {**conversation, "conversation_id": "qa-msg-time", "messages": [bad_message]}
        ).encode(),
        json.dumps({**conversation, "conversation_id": "qa-csat", "csat": "five"}).encode(),
    ]
    _write(sources / "messaging" / f"dt={DAY}" / "conversations-qa.jsonl.gz", _gz(lines))


def _marketing(sources: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["date", "channel", "campaign_id", "spend", "impressions", "clicks", "currency"])
    w.writerow([DAY, "paid_search", "QA-GOOD", "10.00", "100", "3", "EUR"])
    w.writerow([DAY, "paid_search", "QA-COMMA", "12,50 €", "100", "3", "EUR"])
    w.writerow([DAY, "paid_search", "QA-NEGATIVE", "-5.00", "100", "3", "EUR"])
    buf.write(f"{DAY},QA-SHORT\n")
    _write(sources / "marketing" / f"dt={DAY}" / "spend-qa.csv", buf.getvalue().encode())


def _insert(con: sqlite3.Connection, table: str, row: dict) -> None:
    cols = ", ".join(row)
    con.execute(
        f"insert into {table} ({cols}) values ({', '.join('?' * len(row))})", [*row.values()]
    )


def _pos(sources: Path) -> None:
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        cols = [r[1] for r in con.execute("pragma table_info(transactions)")]
        ticket = dict(
            zip(cols, con.execute("select * from transactions limit 1").fetchone(), strict=True)
        )
        (sku,) = con.execute("select sku from transaction_lines limit 1").fetchone()
        when = f"{DAY} 12:00:00"
        base = {**ticket, "occurred_at": when, "updated_at": when}
        _insert(con, "transactions", {**base, "transaction_id": "qa-good-ticket"})
        _insert(con, "transactions", {**base, "transaction_id": None, "staff_id": "qa-nokey-staff"})
        _insert(
            con, "transactions", {**base, "transaction_id": "qa-unknown-store", "store_id": "ST999"}
        )
        future = "2099-01-01 12:00:00"
        _insert(
            con,
            "transactions",
            {
                **base,
                "transaction_id": "qa-future-ticket",
                "occurred_at": future,
                "updated_at": future,
            },
        )
        line = {"transaction_id": "qa-good-ticket", "unit_price": 1.0, "line_amount": 1.0}
        _insert(con, "transaction_lines", {**line, "line_no": 1, "sku": sku, "quantity": 1})
        _insert(
            con, "transaction_lines", {**line, "line_no": 2, "sku": "SKU-QA-NEG", "quantity": -3}
        )
        _insert(
            con, "transaction_lines", {**line, "line_no": 3, "sku": "SKU-QA-UNKNOWN", "quantity": 1}
        )


def _docs(con: sqlite3.Connection, entity: str, rows: list[tuple[str, dict]]) -> None:
    for key, doc in rows:
        updated = doc.get("updated_at")
        updated = (
            updated if isinstance(updated, str) and updated[:2] == "20" else f"{DAY}T12:00:00Z"
        )
        con.execute(
            f"insert into {entity} (id, updated_at, doc) values (?, ?, ?)",
            (key, updated, json.dumps(doc)),
        )


def _rest(sources: Path) -> None:
    with sqlite3.connect(sources / "crm" / "crm.sqlite") as con:
        (doc,) = con.execute("select doc from contacts order by updated_at desc limit 1").fetchone()
        contact = {**json.loads(doc), "updated_at": f"{DAY}T12:00:00Z"}
        (doc,) = con.execute("select doc from loyalty_accounts limit 1").fetchone()
        account = {**json.loads(doc), "updated_at": f"{DAY}T12:00:00Z"}
        _docs(
            con,
            "contacts",
            [
                ("qa-good-contact", {**contact, "id": "qa-good-contact"}),
                ("qa-no-id", {**contact, "id": None, "email": "qa-no-id@example.com"}),
                ("qa-bad-cursor", {**contact, "id": "qa-bad-cursor", "updated_at": "n/a"}),
            ],
        )
        _docs(
            con,
            "loyalty_accounts",
            [("qa-lots", {**account, "id": "qa-lots", "points_balance": "lots"})],
        )
    with sqlite3.connect(sources / "ecommerce" / "shop.sqlite") as con:
        (doc,) = con.execute("select doc from orders limit 1").fetchone()
        order = {**json.loads(doc), "updated_at": f"{DAY}T12:00:00Z", "refunds": []}
        line = {**order["line_items"][0], "id": "qa-line"}
        _docs(
            con,
            "orders",
            [
                ("qa-good-order", {**order, "id": "qa-good-order", "line_items": [line]}),
                ("qa-comma-order", {**order, "id": "qa-comma-order", "total_price": "59,90 EUR"}),
                (
                    "qa-neg-line",
                    {**order, "id": "qa-neg-line", "line_items": [{**line, "quantity": -2}]},
                ),
            ],
        )


def craft(sources: Path) -> dict[tuple[str, str], set[tuple]]:
    """Write every case of the corpus into the sandbox copy at ``sources``; returns the keys
    of the good records written among them, per (system, table)."""
    salvaged = _clickstream(sources)
    _messaging(sources)
    _marketing(sources)
    _pos(sources)
    _rest(sources)
    good = {key: set(keys) for key, keys in GOOD_KEYS.items()}
    good[("clickstream", "events")] |= salvaged
    return good
