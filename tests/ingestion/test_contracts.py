"""Record contracts and the damaged-file salvage, without any pipeline."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pytest

from ingestion.clickstream.settings import EVENTS
from ingestion.contracts import ContractViolation
from ingestion.ecommerce.settings import CONTRACTS as SHOP
from ingestion.files import arrow_schema, gunzip, numbered_lines, typed_tables
from ingestion.marketing.settings import SPEND

ORDER = {
    "id": 5001,
    "name": "#1001",
    "total_price": "59.90",
    "created_at": "2025-09-14T10:23:11Z",
    "updated_at": "2025-09-14T10:23:11Z",
    "line_items": [{"id": "L1", "sku": "SKU-1", "quantity": "2", "price": "29.95"}],
    "refunds": [],
}


def test_order_is_coerced_to_the_contract_types():
    clean = SHOP["orders"].check(ORDER)
    # Shopify's integer ids become text ids; money strings become exact decimals.
    assert clean["id"] == "5001"
    assert clean["total_price"] == Decimal("59.90")
    assert clean["line_items"][0]["quantity"] == 2
    assert clean["cancelled_at"] is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "missing primary key `id`"),
        ({"total_price": "59,90 EUR"}, "field `total_price`"),
        ({"updated_at": "yesterday"}, "field `updated_at`"),
        ({"line_items": [{"id": "L1", "quantity": "two"}]}, "line_items[]: field `quantity`"),
    ],
)
def test_contract_breaks_name_the_field(change, reason):
    with pytest.raises(ContractViolation, match=reason.replace("[", r"\[").replace("]", r"\]")):
        SHOP["orders"].check({**ORDER, **change})


def test_spend_row_from_csv_text_is_typed():
    row = {
        "date": "2025-09-03",
        "channel": "paid_search",
        "campaign_id": "CMP-1",
        "spend": "120.50",
        "impressions": "1000",
        "clicks": "37",
        "currency": "EUR",
    }
    clean = SPEND.check(row)
    assert (clean["spend"], clean["clicks"]) == (Decimal("120.50"), 37)


def test_truncated_gzip_keeps_the_complete_lines():
    lines = [json.dumps({"event_id": f"e{i}", "pad": "x" * 200}) for i in range(500)]
    blob = gzip.compress(("\n".join(lines) + "\n").encode())
    data, error = gunzip(blob[: len(blob) * 3 // 4])
    assert error and "truncated" in error
    salvaged = data.split(b"\n")[:-1]
    assert 0 < len(salvaged) < 500
    assert json.loads(salvaged[-1])["event_id"] == f"e{len(salvaged) - 1}"


def test_multi_member_gzip_is_read_whole():
    blob = gzip.compress(b'{"a": 1}\n') + gzip.compress(b'{"a": 2}\n')
    assert gunzip(blob) == (b'{"a": 1}\n{"a": 2}\n', None)


def test_arrow_reader_rejects_what_arrow_alone_would_let_through():
    schema = arrow_schema(EVENTS)
    good = b'{"event_id": "e1", "event_type": "page_view", "occurred_at": "2025-09-01T10:00:00Z"}'
    lines = numbered_lines(
        b"\n".join(
            [
                good,
                b'{"event_id": "e2", "page_url": "/ni\xf1os"}',  # not UTF-8 inside a string
                b'{"event_id": "e3"} {"event_id": "e4"}',  # two records on one line
                b"[1, 2]",  # not an object
                b'{"event_id": 5}',  # wrong type for a text id
                b"",
                good.replace(b"e1", b"e6"),
            ]
        )
    )
    tables, bad = typed_tables(lines, schema, "dt=2025-09-01/events-0.jsonl.gz")
    loaded = [row["event_id"] for table in tables for row in table.to_pylist()]
    assert loaded == ["e1", "e6"]
    reasons = [reason for reason, _ in bad]
    assert reasons[0].startswith("undecodable bytes at dt=2025-09-01/events-0.jsonl.gz line 2")
    assert reasons[1].startswith("malformed JSON at dt=2025-09-01/events-0.jsonl.gz line 3")
    assert reasons[2].startswith("contract: expected a JSON object at")
    assert reasons[3].startswith("contract: wrong type at dt=2025-09-01/events-0.jsonl.gz line 5")
    assert len(loaded) + len(bad) == len(lines)
