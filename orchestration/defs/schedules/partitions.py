"""Daily partitions of the event-shaped data, and the backfill window a run covers.

A partition is one business day in Europe/Madrid (dbt's ``business_timezone``), keyed by its
ISO date. A run over a partition range (``omni backfill``, or "Materialize → partition
range" in the UI, one run thanks to the single-run backfill policy) re-processes exactly
those days: the dlt assets re-extract them and dbt rebuilds them. Runs without a partition
(``omni run``, the daily schedule, the landing-files sensor) stay incremental.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import dagster as dg

# Same zone as the dbt var `business_timezone` and ingestion.window.BUSINESS_TIMEZONE.
PARTITIONS_TIMEZONE = "Europe/Madrid"
PARTITIONS_START_ENV = "OMNI_PARTITIONS_START"
# Before the sandbox's default first day (2025-09-01); set the first day real data exists.
DEFAULT_PARTITIONS_START = "2025-01-01"

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
BACKFILL_TAG = "dagster/backfill"

Window = tuple[date, date]


def partitions_start() -> date:
    return date.fromisoformat(os.environ.get(PARTITIONS_START_ENV) or DEFAULT_PARTITIONS_START)


daily_partitions = dg.DailyPartitionsDefinition(
    start_date=partitions_start().isoformat(),
    timezone=PARTITIONS_TIMEZONE,
    fmt="%Y-%m-%d",
)

# One run for a whole range: DuckDB has one writer, and dlt and dbt handle a window of days
# in one query each rather than one run per day.
single_run = dg.BackfillPolicy.single_run()


def window_of_keys(first_key: str, last_key: str) -> Window:
    """Partition keys are inclusive; a window is [start, end) with end exclusive."""
    first, last = date.fromisoformat(first_key), date.fromisoformat(last_key)
    if last < first:
        raise ValueError(f"partition range {first_key}..{last_key} ends before it starts")
    return first, last + timedelta(days=1)


def window_of_tags(tags: dict[str, str]) -> Window | None:
    """The days a run covers, from its partition tags, or None for a normal (incremental) run.

    Read from the run rather than from the step, so that the unpartitioned steps of a
    backfill run (the rest of the dbt project) see the same window as the partitioned ones.
    """
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return window_of_keys(tags[RANGE_START_TAG], tags[RANGE_END_TAG])
    if PARTITION_TAG in tags:
        return window_of_keys(tags[PARTITION_TAG], tags[PARTITION_TAG])
    return None


def backfill_window(context: dg.AssetExecutionContext) -> Window | None:
    tags = dict(context.run.tags)
    window = window_of_tags(tags)
    if window is None and BACKFILL_TAG in tags:
        window = asset_backfill_window(
            context.instance, tags[BACKFILL_TAG], context.repository_def.asset_graph
        )
        if window:
            context.log.info(
                f"Run of the asset backfill {tags[BACKFILL_TAG]}, which targets the business "
                f"days {describe(window)}"
            )
    return window


def asset_backfill_window(
    instance: dg.DagsterInstance, backfill_id: str, asset_graph
) -> Window | None:
    """The days an asset backfill targets, for its runs of unpartitioned assets.

    A backfill launched from the asset graph runs the partitioned assets over the range and
    the unpartitioned ones (dbt, publish) in runs of their own, without partition tags; dbt
    must still rebuild the range, not only its usual late-data window. Days between targeted
    ones are rebuilt too: re-processing a day is idempotent.
    """
    backfill = instance.get_backfill(backfill_id)
    if backfill is None or not backfill.is_asset_backfill:
        return None
    subsets = backfill.get_asset_backfill_data(asset_graph).target_subset
    keys = {
        key
        for subset in subsets.partitions_subsets_by_asset_key.values()
        for key in subset.get_partition_keys()
    }
    return window_of_keys(min(keys), max(keys)) if keys else None


def range_tags(window: Window) -> dict[str, str]:
    """Run tags of a single run over the days of ``window`` ([start, end), end exclusive)."""
    start, end = window
    return {
        RANGE_START_TAG: start.isoformat(),
        RANGE_END_TAG: (end - timedelta(days=1)).isoformat(),
    }


def check_backfill_window(window: Window) -> Window:
    """``window`` if every day of it is a partition, else a ValueError a user can act on."""
    start, end = window
    if start >= end:
        raise ValueError(
            f"--end is exclusive and must come after --start; got {start.isoformat()} to "
            f"{end.isoformat()} (one day D is --start D --end D+1)"
        )
    first = partitions_start()
    if start < first:
        raise ValueError(
            f"{start.isoformat()} is before the first daily partition {first.isoformat()} "
            f"(set {PARTITIONS_START_ENV} to an earlier day)"
        )
    last = daily_partitions.get_last_partition_key()
    if last is None or end - timedelta(days=1) > date.fromisoformat(last):
        raise ValueError(
            f"the last complete business day is {last}: a backfill cannot reach "
            f"{(end - timedelta(days=1)).isoformat()}"
        )
    return window


def describe(window: Window) -> str:
    start, end = window
    days = (end - start).days
    return f"[{start.isoformat()}, {end.isoformat()}) ({days} day{'s' if days != 1 else ''})"
