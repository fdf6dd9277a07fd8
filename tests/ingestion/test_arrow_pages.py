"""Checked REST pages become typed Arrow tables, or stay dicts when Arrow cannot be exact."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ingestion.arrow_pages import DLT_ID, raw_records_to_arrow, records_to_arrow
from ingestion.crm.settings import CONTRACTS as CRM
from ingestion.ecommerce.settings import CONTRACTS as SHOP
from ingestion.quarantine import split_arrow

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


def _raw_customer(n: int, **changes) -> dict:
    record = {
        "id": f"71000000{n:02d}",
        "email": f"Ana.{n}@Gmail.com ",
        "phone": None,
        "first_name": "Ana",
        "last_name": "García",
        "accepts_marketing": True,
        "created_at": "2025-09-01T08:33:03Z",
        "updated_at": "2025-09-14T10:23:11Z",
        "state": "enabled",
    }
    return {**record, **changes}


def _without_row_ids(table) -> list[dict]:
    return table.drop_columns([DLT_ID]).to_pylist()


def test_an_unchecked_page_converts_to_the_same_table_as_the_checked_one():
    customers = SHOP["customers"]
    page = [_raw_customer(1), _raw_customer(2, state="deleted", accepts_marketing=None)]
    raw = raw_records_to_arrow(customers, page)
    checked = records_to_arrow(customers, [customers.check(r) for r in page])
    assert raw is not None and checked is not None
    assert raw.schema == checked.schema
    assert _without_row_ids(raw) == _without_row_ids(checked)
    # The deletion flag is derived from `state` on both paths.
    assert [r["is_deleted"] for r in raw.to_pylist()] == [False, True]


def test_an_unchecked_page_with_a_value_to_coerce_takes_the_record_check():
    customers = SHOP["customers"]
    # An integer id (real Shopify), a boolean as text, an empty timestamp: the record check
    # coerces or rejects them with its own reasons, so the page is not converted as it is.
    assert raw_records_to_arrow(customers, [_raw_customer(1, id=7100000001)]) is None
    assert raw_records_to_arrow(customers, [_raw_customer(1, accepts_marketing="true")]) is None
    assert raw_records_to_arrow(customers, [_raw_customer(1, created_at="")]) is None
    assert raw_records_to_arrow(CAMPAIGNS, [{"id": "1", "budget": 10.5}]) is None


def test_the_column_wise_check_rejects_what_the_record_check_rejects():
    customers = SHOP["customers"]
    page = [
        _raw_customer(1),
        _raw_customer(2, updated_at="2099-01-01T00:00:00Z"),
        _raw_customer(3, updated_at=None),
        _raw_customer(1, last_name="Later version"),
    ]
    good, bad = split_arrow(customers, raw_records_to_arrow(customers, page))
    assert [r["last_name"] for r in good.to_pylist()] == ["Later version"]
    reasons = sorted(reason for reason, _ in bad)
    assert len(reasons) == 3
    assert reasons[0].startswith("contract: duplicate primary key `id`='7100000001'")
    assert "date in the future" in reasons[1] and "`updated_at`" in reasons[1]
    assert reasons[2] == "contract: missing required field `updated_at`"
