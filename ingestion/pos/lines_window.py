"""``transaction_lines`` has no ``updated_at``: read only the lines of recently updated tickets.

A till writes a ticket's lines together with the ticket and never changes a line on its
own (a correction re-issues the ticket and moves its ``updated_at``), so the ticket's
``updated_at`` is the lines' change marker. Each run reads the lines of tickets updated
since the previous run's watermark minus the same lag window as the other POS tables;
the merge on (``transaction_id``, ``line_no``) makes the re-read window harmless.

The watermark is the latest ticket ``updated_at`` seen when the read starts, kept in the
resource's dlt state: it is committed with the load package, so a killed run reads the
same lines again. Ticket timestamps in the future are ignored for it, as they are for the
other cursors, or one bad ticket would hide every later line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import dlt
import sqlalchemy as sa

from ingestion.contracts import future_cutoff
from ingestion.pos.sqlite_timestamps import on_sqlite
from ingestion.window import Window, describe, local_bounds

log = logging.getLogger(__name__)

LINES = "transaction_lines"
TICKETS = "transactions"
WATERMARK = "tickets_updated_at_watermark"


def lines_of_updated_tickets(lag_days: float) -> Callable[..., Any]:
    """A ``sql_database`` query adapter limiting ``transaction_lines`` to updated tickets."""

    def adapt(query: Any, table: sa.Table, incremental: Any = None, engine: Any = None) -> Any:
        if table.name != LINES:
            return query
        tickets = on_sqlite(sa.Table(TICKETS, sa.MetaData(), autoload_with=engine), engine)
        # POS timestamps are naive local time: compare with a naive cutoff.
        cutoff = future_cutoff().replace(tzinfo=None)
        latest = sa.select(sa.func.max(tickets.c.updated_at)).where(tickets.c.updated_at <= cutoff)
        if engine.dialect.name == "sqlite":
            # SQLite keeps any text in a timestamp column; a ticket whose updated_at is not a
            # timestamp (quarantined by the cursor guard) must not become the watermark.
            latest = latest.where(sa.func.datetime(tickets.c.updated_at).is_not(None))
        with engine.connect() as con:
            mark = con.execute(latest).scalar()
        state = dlt.current.resource_state(LINES)
        since = state.get(WATERMARK)
        if mark is not None:
            state[WATERMARK] = _iso(mark)
        if since is None:
            log.info("%s: first read, all lines", LINES)
            return query
        start = datetime.fromisoformat(since) - timedelta(days=lag_days)
        log.info("%s: lines of tickets updated since %s (lag included)", LINES, start)
        updated = sa.select(tickets.c.transaction_id).where(tickets.c.updated_at >= start)
        return query.where(table.c.transaction_id.in_(updated))

    return adapt


def lines_of_tickets_in(window: Window) -> Callable[..., Any]:
    """A query adapter for a backfill window: the lines of the tickets of its business days.

    It neither reads nor writes the watermark, so a window run leaves the next normal run
    exactly what it would have read.
    """
    start, end = local_bounds(window)

    def adapt(query: Any, table: sa.Table, incremental: Any = None, engine: Any = None) -> Any:
        if table.name != LINES:
            return query
        tickets = on_sqlite(sa.Table(TICKETS, sa.MetaData(), autoload_with=engine), engine)
        log.info("%s: lines of the tickets of %s", LINES, describe(window))
        in_window = sa.select(tickets.c.transaction_id).where(
            tickets.c.occurred_at >= start, tickets.c.occurred_at < end
        )
        return query.where(table.c.transaction_id.in_(in_window))

    return adapt


def _iso(value: Any) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.isoformat()
