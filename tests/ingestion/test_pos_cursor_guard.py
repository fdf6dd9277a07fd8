"""A POS row whose ``updated_at`` would poison the incremental cursor (in the future, or not
a timestamp) is quarantined with its reason, in any chunk of its table, on a first load as on
a backfill window run: the run does not fail and every row is accounted for."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, timedelta

import pytest
from ingest_helpers import query

from ingestion.pipelines import run_system

# Small chunks, so the broken rows (the last of their tables) are never in the first one.
CHUNK_ROWS = "20"

# (table, SQL breaking the cursor of its last row, the quarantine reason it must get)
BREAKS = [
    (
        "inventory_daily",
        "update inventory_daily set updated_at = '2099-01-01 00:00:00' "
        "where rowid = (select max(rowid) from inventory_daily)",
        "contract: field `updated_at`: date in the future: 2099-01-01 00:00:00",
    ),
    (
        "transactions",
        "update transactions set updated_at = 'n/a' "
        "where rowid = (select max(rowid) from transactions)",
        "contract: field `updated_at`: expected an ISO 8601 timestamp, got b'n/a'",
    ),
]


@pytest.fixture
def sources(world, tmp_path, monkeypatch):
    """A copy of the world's POS database with the cursors of ``BREAKS`` broken."""
    monkeypatch.setenv("SOURCES__POS__CHUNK_SIZE", CHUNK_ROWS)
    (tmp_path / "pos").mkdir()
    database = tmp_path / "pos" / "pos.sqlite"
    shutil.copy(world / "pos" / "pos.sqlite", database)
    with sqlite3.connect(database) as con:
        for table, sql, _ in BREAKS:
            (rows,) = con.execute(f"select count(*) from {table}").fetchone()
            assert rows > 2 * int(CHUNK_ROWS), f"{table} must span several chunks"
            assert con.execute(sql).rowcount == 1
    return tmp_path


def _stored(sources, table: str) -> int:
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]


def test_a_first_load_quarantines_bad_cursors_in_later_chunks(sources):
    warehouse = sources / "warehouse.duckdb"
    rows = run_system("pos", sources, warehouse)

    quarantined = query(warehouse, "select resource, reason from raw_pos._quarantine order by all")
    assert quarantined == sorted((table, reason) for table, _, reason in BREAKS)
    for table, _, _ in BREAKS:
        stored = _stored(sources, table)
        (row,) = [r for r in rows if r["resource"] == table]
        assert (row["received"], row["loaded"], row["quarantined"]) == (stored, stored - 1, 1)
        assert query(warehouse, f"select count(*) from raw_pos.{table}") == [(stored - 1,)]


def test_the_cursor_moves_past_the_quarantined_rows_but_not_to_them(sources):
    """The bad rows neither stop the cursor nor become it: a second run re-reads only the
    lag window (and quarantines the still-broken rows again), not the whole table."""
    warehouse = sources / "warehouse.duckdb"
    run_system("pos", sources, warehouse)
    rows = run_system("pos", sources, warehouse)
    (inventory,) = [r for r in rows if r["resource"] == "inventory_daily"]
    assert 0 < inventory["received"] < _stored(sources, "inventory_daily")
    assert inventory["received"] == inventory["loaded"] + inventory["quarantined"]
    assert inventory["quarantined"] == 1


def test_a_window_run_quarantines_a_bad_cursor_of_a_ticket_in_its_days(sources):
    """A window run filters on ``occurred_at``; the ticket whose ``updated_at`` is broken is
    one of its days' tickets and must reach ``_quarantine``, not vanish."""
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        (occurred,) = con.execute(
            "select occurred_at from transactions where updated_at = 'n/a'"
        ).fetchone()
        (in_day,) = con.execute(
            "select count(*) from transactions where date(occurred_at) = date(?)", [occurred]
        ).fetchone()
    day = date.fromisoformat(occurred[:10])
    warehouse = sources / "warehouse.duckdb"
    rows = run_system("pos", sources, warehouse, window=(day, day + timedelta(days=1)))

    (tickets,) = [r for r in rows if r["resource"] == "transactions"]
    assert (tickets["received"], tickets["loaded"], tickets["quarantined"]) == (
        in_day,
        in_day - 1,
        1,
    )
    assert query(warehouse, "select resource, reason from raw_pos._quarantine") == [
        ("transactions", BREAKS[1][2])
    ]
