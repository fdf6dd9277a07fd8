"""Backfill windows: the business days a re-extraction covers.

A window is ``(start, end)``: ISO business days in Europe/Madrid (dbt's
``business_timezone``), end exclusive. A window run re-reads exactly the event-shaped
records of those days through dlt's own backfill mode (``dlt.sources.incremental`` with
both ``initial_value`` and ``end_value`` neither reads nor writes the incremental state),
and file partitions by their ``dt=`` name whatever the new-files filter remembers.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# The same zone as the dbt var `business_timezone`: a "day" is a Madrid calendar day.
BUSINESS_TIMEZONE = ZoneInfo("Europe/Madrid")

Window = tuple[date, date]

_PARTITION = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})(?:/|$)")


def check_window(window: Any) -> Window:
    """``window`` as a pair of dates (ISO strings accepted), or a ValueError saying why not."""
    try:
        start, end = window
    except (TypeError, ValueError):
        raise ValueError(f"a window is (start, end), got {window!r}") from None
    start, end = _as_date(start), _as_date(end)
    if start >= end:
        raise ValueError(f"empty window: start {start} must be before end {end} (end exclusive)")
    return start, end


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"a window bound is a day, got the timestamp {value!r}")
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def local_bounds(window: Window) -> tuple[datetime, datetime]:
    """Naive local midnights, for sources that store business-local time (the POS tills)."""
    start, end = window
    return datetime.combine(start, time()), datetime.combine(end, time())


def utc_bounds(window: Window) -> tuple[datetime, datetime]:
    """The window's first and first-excluded instants in UTC (Madrid midnight is 22:00 or
    23:00 UTC the day before, depending on daylight saving time)."""
    start, end = local_bounds(window)
    return (
        start.replace(tzinfo=BUSINESS_TIMEZONE).astimezone(UTC),
        end.replace(tzinfo=BUSINESS_TIMEZONE).astimezone(UTC),
    )


def iso_utc(moment: datetime) -> str:
    """``2025-09-14T22:00:00Z``: the REST APIs' timestamp format, so that dlt's comparison of
    cursor strings is a comparison of instants."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def days(window: Window) -> list[date]:
    start, end = window
    return [start + timedelta(days=n) for n in range((end - start).days)]


def partition_day(path: str) -> date | None:
    """The day of the ``dt=YYYY-MM-DD`` partition a file lies in, or None."""
    match = _PARTITION.search(path)
    return date.fromisoformat(match[1]) if match else None


def in_window(path: str, window: Window) -> bool:
    day = partition_day(path)
    return day is not None and window[0] <= day < window[1]


def describe(window: Window) -> str:
    start, end = window
    return f"[{start.isoformat()}, {end.isoformat()})"
