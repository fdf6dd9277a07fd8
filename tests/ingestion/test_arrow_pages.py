"""Checked REST pages become typed Arrow tables, or stay dicts when Arrow cannot be exact."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from ingestion.arrow_pages import DLT_ID, raw_records_to_arrow, records_to_arrow
from ingestion.contracts import ContractViolation, future_cutoff
from ingestion.crm.settings import CONTRACTS as CRM
from ingestion.ecommerce.settings import CONTRACTS as SHOP
from ingestion.quarantine import CursorGuardStep, ValidateStep, split_arrow, split_records
from ingestion.rest import decode_json_once

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
    # A timestamp without an offset, a nested new field and a
    # nested contract: dlt's own normaliser handles them as before.
    assert records_to_arrow(CAMPAIGNS, [_campaign(1, updated_at="2025-09-14T10:23:11")]) is None
    # An amount finer than cents no longer reaches either path: DECIMAL(18,2) cannot hold it.
    with pytest.raises(ContractViolation, match="at most 2 decimals"):
        _campaign(1, budget="10.005")
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


def test_numbers_arrow_would_bend_take_the_record_check():
    accounts = CRM["loyalty_accounts"]
    page = [{"id": "L1", "points_balance": 120, "updated_at": "2025-09-14T10:23:11Z"}]
    assert raw_records_to_arrow(accounts, page)["points_balance"].to_pylist() == [120]
    # Arrow alone would read 1.5 as 1 and 2.0 as 2, and a boolean as a float: the record
    # check rejects 1.5 and coerces 2.0, with its own reasons.
    for value in (1.5, 2.0, True):
        assert raw_records_to_arrow(accounts, [{**page[0], "points_balance": value}]) is None
    good, bad = split_records(accounts, [{**page[0], "points_balance": 1.5}])
    assert not good and "`points_balance`" in bad[0][0]


def _guard(cursor_checks: list) -> CursorGuardStep:
    step = CursorGuardStep(ValidateStep(SHOP["customers"]))

    def counted(record, cutoff):
        cursor_checks.append(record)
        return CursorGuardStep._bad_cursor(step, record, cutoff)

    step._bad_cursor = counted
    return step


def test_the_cursor_guard_settles_a_clean_page_in_one_pass():
    checks: list = []
    page = [
        _raw_customer(1),
        _raw_customer(2, updated_at="2025-09-14T12:23:11.250+02:00"),
    ]
    good, bad = _guard(checks)._split_records(page, future_cutoff())
    assert good == page and bad == []
    assert checks == [], "a clean page went record by record"


def test_the_cursor_guard_rejects_and_keeps_what_the_record_check_does():
    checks: list = []
    page = [
        _raw_customer(1),
        # Texts Arrow does not read but the record check accepts (as UTC): kept.
        _raw_customer(2, updated_at="2025-09-14T10:23:11"),
        _raw_customer(3, updated_at=" 2025-09-14T10:23:11Z "),
        _raw_customer(4, updated_at="2099-01-01T00:00:00+01:00"),
        _raw_customer(5, updated_at="n/a"),
        _raw_customer(6, updated_at=None),
        "not an object",
    ]
    good, bad = _guard(checks)._split_records(page, future_cutoff())
    assert [r["id"] for r in good] == ["7100000001", "7100000002", "7100000003"]
    assert [reason for reason, _ in bad] == [
        "contract: field `updated_at`: date in the future: 2098-12-31T23:00:00+00:00",
        "contract: field `updated_at`: expected an ISO 8601 timestamp, got 'n/a'",
        "contract: missing required field `updated_at`",
        "contract: expected a JSON object, got str",
    ]
    assert len(checks) == len(page)


def test_a_decoded_response_goes_as_soon_as_it_is_dropped():
    response = requests.Response()
    response._content = b'{"orders": [{"id": "1"}]}'
    response.status_code = 200
    decode_json_once(response)
    page = response.json()
    assert page == {"orders": [{"id": "1"}]} and response.json() is page
    gone = weakref.ref(response)
    gc.disable()
    try:
        del response
        # Freed by reference counting: no cycle waits for the garbage collector.
        assert gone() is None
    finally:
        gc.enable()
