"""`omni backfill` re-processes exactly the days asked for, then checks and publishes.

After the shared normal run, the source data of day D and of day D+2 change behind the
incremental cursors' backs (a store ticket's amount, a clickstream file's events, no
`updated_at` moved). A backfill of [D, D+1) must bring day D's changes into raw, the facts
and the published file, leave day D+2's out, and leave every other row as it was.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

MADRID = ZoneInfo("Europe/Madrid")
DAY_D = dt.date(2025, 9, 15)
DAY_D2 = DAY_D + dt.timedelta(days=2)
EXTRA = Decimal("100.00")
NEW_TYPE = "page_view"


def _ticket_of(pos_db: Path, day: dt.date) -> str:
    con = sqlite3.connect(pos_db)
    try:
        (ticket,) = con.execute(
            "select transaction_id from transactions where date(occurred_at) = ? "
            "and time(occurred_at) between '10:00:00' and '18:00:00' "
            "order by transaction_id limit 1",
            [day.isoformat()],
        ).fetchone()
        # The amount changes, updated_at does not: only a re-read by day can see it.
        con.execute(
            "update transactions set total_amount = round(total_amount + ?, 2) "
            "where transaction_id = ?",
            [float(EXTRA), ticket],
        )
        con.commit()
    finally:
        con.close()
    return ticket


def _retype_one_event(sources: Path, day: dt.date) -> str:
    """Rewrite one midday product view in the day's clickstream files as a page view."""
    for path in sorted((sources / "clickstream" / f"dt={day.isoformat()}").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as lines:
            events = [json.loads(line) for line in lines]
        target = next(
            (
                e
                for e in events
                if e["event_type"] == "product_view" and "T10:" <= e["occurred_at"][10:14] <= "T16:"
            ),
            None,
        )
        if target is not None:
            target["event_type"] = NEW_TYPE
            with gzip.open(path, "wt") as out:
                out.writelines(json.dumps(e) + "\n" for e in events)
            return target["event_id"]
    raise AssertionError(f"no midday product view on {day} to change")


def _table(database: Path, table: str, key: str) -> dict:
    """Every row of ``table`` as a dict of columns, by its key."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{database}' as db (read_only)")
        cursor = con.execute(f"select * from db.{table}")
        columns = [d[0] for d in cursor.description]
        return {
            row[columns.index(key)]: dict(zip(columns, row, strict=True))
            for row in cursor.fetchall()
        }
    finally:
        con.close()


def _business_day(utc_naive: dt.datetime) -> dt.date:
    return utc_naive.replace(tzinfo=dt.UTC).astimezone(MADRID).date()


KEYS = {
    "marts.fct_orders": "order_id",
    "marts.fct_touchpoints": "touchpoint_id",
    "raw_pos.transactions": "transaction_id",
    "raw_pos.transaction_lines": "transaction_id || '/' || line_no",
    "raw_clickstream.events": "event_id",
}


def _key_counts(database: Path) -> dict[str, tuple[int, int]]:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{database}' as db (read_only)")
        return {
            table: con.execute(f"select count(*), count(distinct {key}) from db.{table}").fetchone()
            for table, key in KEYS.items()
        }
    finally:
        con.close()


def _snapshot(root: Path) -> dict[str, dict]:
    warehouse = root / "warehouse.duckdb"
    return {
        "orders": _table(warehouse, "marts.fct_orders", "order_id"),
        "touchpoints": _table(warehouse, "marts.fct_touchpoints", "touchpoint_id"),
        "tickets": _table(warehouse, "raw_pos.transactions", "transaction_id"),
        "events": _table(warehouse, "raw_clickstream.events", "event_id"),
    }


@pytest.fixture(scope="module")
def backfill(first_run, data_dir, tmp_path_factory):
    """A copy of the published data dir, its sources changed on D and D+2, then backfilled."""
    from orchestration.cli import main

    copy = tmp_path_factory.mktemp("omni_backfill") / "data"
    shutil.copytree(data_dir, copy)
    sources = copy / "sources"
    before = _snapshot(copy)
    changed = {
        "ticket_d": _ticket_of(sources / "pos" / "pos.sqlite", DAY_D),
        "ticket_d2": _ticket_of(sources / "pos" / "pos.sqlite", DAY_D2),
        "event_d": _retype_one_event(sources, DAY_D),
        "event_d2": _retype_one_event(sources, DAY_D2),
    }
    window = ["--start", DAY_D.isoformat(), "--end", (DAY_D + dt.timedelta(days=1)).isoformat()]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DATA_DIR", str(copy))
        patch.setenv("DAGSTER_HOME", str(copy / "dagster_home"))
        exit_code = main(["backfill", *window, "--sources", str(sources)])
        published = _table(copy / "published" / "marts.duckdb", "marts.fct_orders", "order_id")
    return {
        "exit_code": exit_code,
        "after_counts": _key_counts(copy / "warehouse.duckdb"),
        "before": before,
        "after": _snapshot(copy),
        "published_orders": published,
        **changed,
    }


def test_backfill_run_succeeds(backfill):
    from orchestration.cli import EXIT_OK

    assert backfill["exit_code"] == EXIT_OK


def test_day_d_ticket_change_reaches_raw_facts_and_the_published_file(backfill):
    ticket, before, after = backfill["ticket_d"], backfill["before"], backfill["after"]
    old_gross = before["orders"][ticket]["gross_revenue"]
    assert after["tickets"][ticket]["total_amount"] == before["tickets"][ticket]["total_amount"] + (
        EXTRA
    )
    assert after["orders"][ticket]["gross_revenue"] == old_gross + EXTRA
    assert after["orders"][ticket]["net_revenue"] == before["orders"][ticket]["net_revenue"] + (
        EXTRA
    )
    assert backfill["published_orders"][ticket]["gross_revenue"] == old_gross + EXTRA


def test_day_d_clickstream_change_reaches_raw_and_touchpoints(backfill):
    event, after = backfill["event_d"], backfill["after"]
    assert backfill["before"]["events"][event]["event_type"] == "product_view"
    assert after["events"][event]["event_type"] == NEW_TYPE
    assert after["touchpoints"][f"clickstream:events:{event}"]["touchpoint_type"] == NEW_TYPE


def test_day_d_plus_2_changes_stay_out(backfill):
    before, after = backfill["before"], backfill["after"]
    ticket, event = backfill["ticket_d2"], backfill["event_d2"]
    assert after["tickets"][ticket] == before["tickets"][ticket]
    assert after["orders"][ticket] == before["orders"][ticket]
    assert (
        backfill["published_orders"][ticket]["gross_revenue"]
        == (before["orders"][ticket]["gross_revenue"])
    )
    assert after["events"][event] == before["events"][event]
    touchpoint = f"clickstream:events:{event}"
    assert after["touchpoints"][touchpoint] == before["touchpoints"][touchpoint]


@pytest.mark.parametrize(("fact", "timestamp"), [("orders", "ordered_at"),
                                                 ("touchpoints", "occurred_at")])  # fmt: skip
def test_no_row_lost_or_duplicated_and_other_days_untouched(backfill, fact, timestamp):
    before, after = backfill["before"][fact], backfill["after"][fact]
    assert set(after) == set(before)  # no order or touchpoint lost or added
    changed = {backfill["ticket_d"], f"clickstream:events:{backfill['event_d']}"}
    outside = [k for k, row in before.items() if _business_day(row[timestamp]) != DAY_D]
    inside = [k for k in before if k not in outside]
    assert outside and inside
    assert all(after[k] == before[k] for k in outside)
    # Rows of day D were re-extracted and rebuilt: only when dlt loaded them may differ.
    business = [c for c in before[inside[0]] if not c.endswith("loaded_at")]
    for key in inside:
        if key not in changed:
            assert {c: after[key][c] for c in business} == {c: before[key][c] for c in business}


def test_facts_and_raw_tables_have_no_duplicate_keys(backfill):
    # The keyed snapshots above would hide a duplicate: count rows against keys.
    for table, (rows, distinct) in backfill["after_counts"].items():
        assert rows == distinct, table
    assert backfill["after_counts"]["marts.fct_orders"][0] == len(backfill["before"]["orders"])
