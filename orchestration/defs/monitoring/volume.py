"""Volume: how many records a source delivered in this run against its recent loads.

Counts come from ``raw_audit.load_reconciliation`` (``received`` per load and resource,
ingestion/reconciliation.py), summed over the resources of the source's clock, so that
history and this run count the same things.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from ingestion.reconciliation import AUDIT_DATASET, AUDIT_TABLE
from orchestration.defs.monitoring.clock import BUSINESS_TZ, AsOf, SourceClock, records_sql
from orchestration.defs.monitoring.settings import VolumeSettings
from orchestration.defs.monitoring.volume_rule import VolumeVerdict, judge_volume
from orchestration.lib.warehouse import query_rows

_LOADS = f"""
select load_id, min(loaded_at) as loaded_at, sum(received) as received
from {AUDIT_DATASET}.{AUDIT_TABLE}
where source_system = ? and list_contains(?, resource)
group by load_id
order by loaded_at
"""


def load_history(clock: SourceClock) -> list[tuple[str, datetime, int]]:
    """Every audited load of the source, oldest first: (load_id, loaded_at, received)."""
    try:
        rows = query_rows(_LOADS, [clock.system, list(clock.resources)])
    except duckdb.CatalogException:  # nothing has been audited in this warehouse yet
        return []
    return [(load_id, loaded_at, int(received)) for load_id, loaded_at, received in rows]


def daily_rate(clock: SourceClock, as_of: AsOf, lookback_days: int) -> float | None:
    """Median records per business day over the complete days before the as-of day."""
    last_day = _business_day(as_of)
    first_day = last_day - timedelta(days=lookback_days)
    try:
        ((rate,),) = query_rows(
            f"""
            with days as (
                select unnest(range(?::timestamp, ?::timestamp, interval 1 day))::date
                    as business_date
            ),
            counts as (
                select business_date, count(*) as records
                from ({records_sql(clock)})
                group by business_date
            )
            select median(coalesce(counts.records, 0))
            from days left join counts using (business_date)
            """,
            [first_day, last_day],
        )
    except duckdb.CatalogException:
        return None
    return float(rate) if rate is not None else None


def _business_day(as_of: AsOf) -> date:
    # The as-of moment of a sandbox is midnight after its last day: that day is the last one
    # this run may have delivered, so it is not part of the baseline.
    return (as_of.moment.astimezone(BUSINESS_TZ) - timedelta(microseconds=1)).date()


def judge_run_volume(
    clock: SourceClock, run_started: datetime, as_of: AsOf, settings: VolumeSettings
) -> tuple[VolumeVerdict, dict]:
    loads = load_history(clock)
    this_run = [received for _, loaded_at, received in loads if loaded_at >= run_started]
    earlier = [received for _, loaded_at, received in loads if loaded_at < run_started]
    # The first load is the source's whole history; it says nothing about a usual day.
    daily = list(reversed(earlier[1:]))[: settings.lookback_loads]
    rate = daily_rate(clock, as_of, settings.lookback_days) if earlier and not daily else None
    verdict = judge_volume(sum(this_run), daily, rate, settings.min_ratio)
    facts = {
        "loads_in_this_run": len(this_run),
        "earlier_loads": len(earlier),
        "history_used": daily,
    }
    return verdict, facts
