"""A POS backfill window selects tickets by ``occurred_at``, the tills' own text in SQLite. A
ticket whose ``occurred_at`` is not a timestamp but sorts inside the window (``'D xx'``) is
quarantined with its reason; tickets at the window's edges load or not as the window says; a
future ticket outside it is not read; the run reconciles and leaves the incremental state
alone. (A NULL ``occurred_at`` is refused by the tills' own schema.)"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, timedelta

import dlt
import duckdb
import pytest
from ingest_helpers import query

from ingestion.pipelines import default_pipelines_dir, run_system

# Small chunks for the window runs, so the broken ticket is not in the first one (a first
# load in such chunks would take a minute: it loads with the default).
CHUNK_ROWS = "2"


@pytest.fixture
def sources(world, tmp_path):
    (tmp_path / "pos").mkdir()
    shutil.copy(world / "pos" / "pos.sqlite", tmp_path / "pos" / "pos.sqlite")
    return tmp_path


def _day_with_tickets(con: sqlite3.Connection) -> date:
    (day,) = con.execute(
        "select date(occurred_at) from transactions group by 1 order by count(*) desc, 1 limit 1"
    ).fetchone()
    return date.fromisoformat(day)


def _set_occurred_at(con: sqlite3.Connection, ticket: str, value: str) -> None:
    assert (
        con.execute(
            "update transactions set occurred_at = ? where transaction_id = ?", [value, ticket]
        ).rowcount
        == 1
    )


def _pos_state(warehouse) -> dict:
    pipelines_dir = default_pipelines_dir(warehouse)
    return dlt.attach("omni_pos", pipelines_dir=str(pipelines_dir)).state["sources"]


def test_a_window_run_quarantines_a_ticket_whose_occurred_at_is_not_a_timestamp(
    sources, monkeypatch
):
    warehouse = sources / "warehouse.duckdb"
    database = sources / "pos" / "pos.sqlite"
    run_system("pos", sources, warehouse)
    monkeypatch.setenv("SOURCES__POS__CHUNK_SIZE", CHUNK_ROWS)
    state_before = _pos_state(warehouse)

    with sqlite3.connect(database) as con:
        day = _day_with_tickets(con)
        following = day + timedelta(days=1)
        others = [
            r[0]
            for r in con.execute(
                "select transaction_id from transactions where date(occurred_at) not in (?, ?) "
                "order by transaction_id limit 3",
                [day.isoformat(), following.isoformat()],
            )
        ]
        in_day = [
            r[0]
            for r in con.execute(
                "select transaction_id from transactions where date(occurred_at) = ? "
                "order by occurred_at desc",
                [day.isoformat()],
            )
        ]
        broken, at_start, at_end, future = in_day[0], others[0], others[1], others[2]
        _set_occurred_at(con, broken, f"{day.isoformat()} xx")
        _set_occurred_at(con, at_start, f"{day.isoformat()} 00:00:00")
        _set_occurred_at(con, at_end, f"{following.isoformat()} 00:00:00")
        _set_occurred_at(con, future, "2099-01-01 00:00:00")
        # A NULL business day cannot happen: the tills' DDL (as PostgreSQL's) refuses it.
        with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
            con.execute(
                "update transactions set occurred_at = null where transaction_id = ?", [broken]
            )
        good = {at_start, *in_day[1:]}
        assert len(good) > 2 * int(CHUNK_ROWS), "the window's tickets must span several chunks"
    # The raw tickets of the window's day are deleted, so only the window run can bring them.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "delete from raw_pos.transactions where transaction_id in (select unnest(?))",
            [sorted(good | {broken})],
        )

    rows = run_system("pos", sources, warehouse, window=(day, following))

    (tickets,) = [r for r in rows if r["resource"] == "transactions"]
    assert (tickets["received"], tickets["loaded"], tickets["quarantined"]) == (
        len(good) + 1,
        len(good),
        1,
    )
    for row in rows:
        assert row["received"] == row["loaded"] + row["quarantined"], row
    reconciled = query(
        warehouse,
        "select received, loaded, quarantined from raw_audit.load_reconciliation "
        "where source_system = 'pos' and resource = 'transactions' and load_id = ?",
        tickets["load_id"],
    )
    assert reconciled == [(len(good) + 1, len(good), 1)]
    assert query(
        warehouse,
        "select resource, reason from raw_pos._quarantine where load_id = ?",
        tickets["load_id"],
    ) == [
        (
            "transactions",
            f"contract: field `occurred_at`: expected an ISO 8601 timestamp, "
            f"got b'{day.isoformat()} xx'",
        )
    ]
    loaded = {
        r[0]
        for r in query(
            warehouse,
            "select transaction_id from raw_pos.transactions where transaction_id in "
            "(select unnest(?))",
            sorted(good | {broken}),
        )
    }
    assert loaded == good
    assert _pos_state(warehouse) == state_before


def test_a_window_over_future_days_quarantines_their_tickets(sources):
    """A ticket dated in the future (a till's clock gone wrong), at the start of a window over
    those days: quarantined as the cursor guard does for ``updated_at``, counted, no failure."""
    warehouse = sources / "warehouse.duckdb"
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        (ticket,) = con.execute("select min(transaction_id) from transactions").fetchone()
        _set_occurred_at(con, ticket, "2099-01-01 00:00:00")

    rows = run_system("pos", sources, warehouse, window=(date(2099, 1, 1), date(2099, 1, 2)))

    (tickets,) = [r for r in rows if r["resource"] == "transactions"]
    assert (tickets["received"], tickets["loaded"], tickets["quarantined"]) == (1, 0, 1)
    assert query(warehouse, "select resource, reason from raw_pos._quarantine") == [
        ("transactions", "contract: field `occurred_at`: date in the future: 2099-01-01 00:00:00")
    ]
