"""Checked REST pages become typed Arrow tables, or stay dicts when Arrow cannot be exact."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ingestion.arrow_pages import DLT_ID, records_to_arrow
from ingestion.crm.settings import CONTRACTS as CRM
from ingestion.ecommerce.settings import CONTRACTS as SHOP

CAMPAIGNS = CRM["campaigns"]


def _campaign(n: int, **changes) -> dict:
    record = {
        "id": 700 + n,  # an integer id, as real HubSpot sends
        "name": f"Rebajas {n}",
        "channel": "email",
        "start_date": "2025-09-01",
        "budget": "1500.50",
        "updated_at": "2025-09-14T10:23:11+02:00",
        "new_upstream_field": None,
    }
    return CAMPAIGNS.check({**record, **changes})


def test_a_checked_page_keeps_its_values_and_gets_row_ids():
    table = records_to_arrow(CAMPAIGNS, [_campaign(1), _campaign(2, budget="0")])
    assert table is not None
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == ["701", "702"]
    assert [r["budget"] for r in rows] == [Decimal("1500.50"), Decimal("0.00")]
    assert rows[0]["updated_at"] == datetime(2025, 9, 14, 8, 23, 11, tzinfo=UTC)
    assert str(rows[0]["start_date"]) == "2025-09-01"
    # dlt's row id on every row, unique; an all-null new field adds no column yet.
    assert len({r[DLT_ID] for r in rows}) == 2 and all(r[DLT_ID] for r in rows)
    assert "new_upstream_field" not in table.column_names
    assert not table.schema.field("id").nullable


def test_pages_arrow_cannot_type_exactly_stay_on_the_normaliser_path():
    # A timestamp without an offset, an amount finer than cents, a nested new field and a
    # nested contract: dlt's own normaliser handles them as before.
    assert records_to_arrow(CAMPAIGNS, [_campaign(1, updated_at="2025-09-14T10:23:11")]) is None
    assert records_to_arrow(CAMPAIGNS, [_campaign(1, budget="10.005")]) is None
    assert records_to_arrow(CAMPAIGNS, [_campaign(1, properties={"a": 1})]) is None
    order = SHOP["orders"].check(
        {
            "id": 1,
            "total_price": "1.00",
            "created_at": "2025-09-14T10:23:11Z",
            "updated_at": "2025-09-14T10:23:11Z",
            "line_items": [],
        }
    )
    assert records_to_arrow(SHOP["orders"], [order]) is None
