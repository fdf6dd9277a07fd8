"""What time it is for a source, and the newest record it has delivered.

Freshness means "how old is the newest record, measured on the source's own clock". A
sandbox world is dated (``omni sandbox generate --start 2025-09-01``), so judging it by the
wall clock would call every sandbox stale; its clock is the end of the last simulated day,
``end_date`` in ``<sources>/_truth/manifest.json``. Precedence:

1. ``$OMNI_AS_OF`` — an ISO date (the end of that business day, Europe/Madrid) or an ISO
   datetime with offset; for replaying history or testing a clock;
2. the sandbox manifest, when the run reads a sandbox folder;
3. the wall clock (real source systems).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from ingestion.pipelines import dataset_name
from orchestration.lib.asset_keys import raw_table_key

AS_OF_ENV = "OMNI_AS_OF"
BUSINESS_TZ = ZoneInfo("Europe/Madrid")
MANIFEST = Path("_truth") / "manifest.json"

# utc: a timestamp with time zone; local: a naive till timestamp in Europe/Madrid (POS);
# date: a whole business day, complete at its end.
TimeKind = Literal["utc", "local", "date"]


@dataclass(frozen=True)
class ClockColumn:
    table: str
    column: str
    kind: TimeKind = "utc"


@dataclass(frozen=True)
class SourceClock:
    """The tables whose newest timestamp says a source is alive, per SOURCES.md.

    The first table is the one the checks hang on in the asset graph. Reference tables
    that change rarely (stores, products, campaigns) are left out: their silence is normal.
    """

    system: str
    columns: tuple[ClockColumn, ...]

    @property
    def asset_key(self):
        return raw_table_key(dataset_name(self.system), self.columns[0].table)

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(c.table for c in self.columns)


SOURCE_CLOCKS = {
    clock.system: clock
    for clock in (
        SourceClock(
            "crm",
            (ClockColumn("contacts", "updated_at"), ClockColumn("loyalty_accounts", "updated_at")),
        ),
        SourceClock(
            "ecommerce",
            (
                ClockColumn("orders", "updated_at"),
                ClockColumn("checkouts", "updated_at"),
                ClockColumn("customers", "updated_at"),
            ),
        ),
        SourceClock(
            "pos",
            (
                ClockColumn("transactions", "occurred_at", "local"),
                ClockColumn("inventory_daily", "snapshot_date", "date"),
            ),
        ),
        SourceClock("clickstream", (ClockColumn("events", "occurred_at"),)),
        SourceClock(
            "messaging",
            (ClockColumn("conversations", "started_at"), ClockColumn("deliveries", "occurred_at")),
        ),
        SourceClock("marketing", (ClockColumn("spend", "date", "date"),)),
    )
}


def _as_timestamptz(column: ClockColumn) -> str:
    name = f'"{column.column}"'
    if column.kind == "local":
        return f"timezone('Europe/Madrid', cast({name} as timestamp))"
    if column.kind == "date":
        return f"timezone('Europe/Madrid', cast({name} as timestamp) + interval 1 day)"
    return name


def _as_business_date(column: ClockColumn) -> str:
    name = f'"{column.column}"'
    if column.kind == "local":
        return f"cast({name} as date)"
    if column.kind == "date":
        return name
    return f"cast(timezone('Europe/Madrid', {name}) as date)"


def records_sql(clock: SourceClock) -> str:
    """One row per clock record: ``ts`` (timestamptz) and ``business_date``."""
    dataset = dataset_name(clock.system)
    return "\nunion all\n".join(
        f"select {_as_timestamptz(c)} as ts, {_as_business_date(c)} as business_date "
        f"from {dataset}.{c.table} where {c.column} is not null"
        for c in clock.columns
    )


def parse_as_of(value: str) -> datetime:
    """``2025-09-28`` → the end of that business day; a datetime needs an offset."""
    value = value.strip()
    if len(value) == 10:
        day = date.fromisoformat(value)
        return datetime.combine(day + timedelta(days=1), time(), BUSINESS_TZ)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"${AS_OF_ENV}={value!r}: give a date or a datetime with an offset")
    return moment


@dataclass(frozen=True)
class AsOf:
    moment: datetime
    origin: str  # where the clock came from, shown in the check's metadata

    def describe(self) -> str:
        return f"{self.moment.isoformat()} ({self.origin})"


def source_as_of(sources_dir: Path | None, now: datetime | None = None) -> AsOf:
    configured = os.environ.get(AS_OF_ENV)
    if configured:
        return AsOf(parse_as_of(configured), f"${AS_OF_ENV}")
    manifest = sources_dir / MANIFEST if sources_dir else None
    if manifest is not None and manifest.exists():
        end = json.loads(manifest.read_text())["end_date"]
        return AsOf(parse_as_of(end), f"sandbox end date {end} in {manifest}")
    return AsOf(now or datetime.now(UTC), "wall clock")
