"""A till ticket stamped exactly at midnight belongs to the day it starts, not the day before.

SQLite keeps POS timestamps as text and compares them as text, so a window bound written
with fractional seconds (``00:00:00.000000``) sorted after a ticket at ``00:00:00``.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, timedelta

from ingest_helpers import query

from ingestion.pipelines import run_system

DAY = date(2025, 9, 10)
NEXT = DAY + timedelta(days=1)


def _stamp_at_midnight(pos_db, day: date, skip: int) -> str:
    """Move one ticket of ``day`` to its first instant; its id."""
    with sqlite3.connect(pos_db) as con:
        (ticket,) = con.execute(
            "select transaction_id from transactions where date(occurred_at) = ? "
            "order by transaction_id limit 1 offset ?",
            [day.isoformat(), skip],
        ).fetchone()
        con.execute(
            "update transactions set occurred_at = ? where transaction_id = ?",
            [f"{day.isoformat()} 00:00:00", ticket],
        )
    return ticket


def test_midnight_ticket_is_in_its_own_days_window(first_load, tmp_path):
    sources = tmp_path / "sources"
    (sources / "pos").mkdir(parents=True)
    pos_db = sources / "pos" / "pos.sqlite"
    shutil.copy(first_load.sources / "pos" / "pos.sqlite", pos_db)
    today = _stamp_at_midnight(pos_db, DAY, 0)
    tomorrow = _stamp_at_midnight(pos_db, NEXT, 0)
    with sqlite3.connect(pos_db) as con:
        (expected,) = con.execute(
            "select count(*) from transactions where date(occurred_at) = ?", [DAY.isoformat()]
        ).fetchone()
        (lines,) = con.execute(
            "select count(*) from transaction_lines where transaction_id = ?", [today]
        ).fetchone()

    warehouse = tmp_path / "warehouse.duckdb"
    rows = run_system("pos", sources, warehouse, window=(DAY, NEXT))

    received = {r["resource"]: r["received"] for r in rows}
    assert received["transactions"] == expected
    loaded = {t for (t,) in query(warehouse, "select transaction_id from raw_pos.transactions")}
    assert today in loaded
    assert tomorrow not in loaded
    (loaded_lines,) = query(
        warehouse,
        "select count(*) from raw_pos.transaction_lines where transaction_id = ?",
        today,
    )[0]
    assert loaded_lines == lines > 0
    (next_days_lines,) = query(
        warehouse,
        "select count(*) from raw_pos.transaction_lines where transaction_id = ?",
        tomorrow,
    )[0]
    assert next_days_lines == 0
