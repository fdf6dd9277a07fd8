"""Timestamp bounds SQLite compares correctly: ``2025-09-14 00:00:00``, not ``…00:00:00.000000``.

SQLite has no timestamp type: the tills store ``2025-09-14 00:00:00`` as text, and every
filter on a timestamp (dlt's incremental and backfill bounds, the ticket-lines adapters) is
a text comparison. SQLAlchemy's SQLite ``DATETIME`` binds a bound with six fractional
digits, and ``'2025-09-14 00:00:00' < '2025-09-14 00:00:00.000000'``: a ticket stamped
exactly at midnight fell before its own day's window and into the previous day's. Bound
here the way the tills write (``datetime.isoformat``: fractions only when there are any),
equal instants compare equal.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite


class SqliteTimestamp(sqlite.DATETIME):
    """SQLite ``DATETIME`` bound as ``YYYY-MM-DD HH:MM:SS[.ffffff]``."""

    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.replace(tzinfo=None).isoformat(sep=" ")
            if isinstance(value, date):
                return f"{value.isoformat()} 00:00:00"
            return value

        return process


def sqlite_timestamps(table: sa.Table) -> sa.Table:
    """``table``, reflected from SQLite, with its timestamp columns bound as stored. Only for
    SQLite tables: other databases compare real timestamps and keep their own types."""
    for column in table.columns:
        if isinstance(column.type, sa.DateTime) and not isinstance(column.type, SqliteTimestamp):
            column.type = SqliteTimestamp(timezone=column.type.timezone)
    return table


def on_sqlite(table: sa.Table, engine: sa.Engine) -> sa.Table:
    """``table`` with SQLite-safe timestamp bounds when ``engine`` is SQLite."""
    return sqlite_timestamps(table) if engine.dialect.name == "sqlite" else table


def is_sqlite(credentials: Any) -> bool:
    url = credentials if isinstance(credentials, str) else getattr(credentials, "to_url", None)
    if callable(url):
        url = url()
    return sa.engine.make_url(str(url)).get_backend_name() == "sqlite"
