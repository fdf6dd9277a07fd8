"""``freshness_<system>`` and ``volume_<system>``: is each source system alive and whole?

One multi-asset check per system, on the table its clock starts with (``raw_pos/transactions``
…), evaluated after the system's load in every run:

- freshness (blocking by policy): the newest record is older than the system's limit on
  the source's clock (see ``clock.py``): the source has gone silent and the marts would
  present stale numbers as today's;
- volume (warns by policy): this run delivered nothing, or less than ``volume.min_ratio``
  of a usual load: often a partial export or an expired token, but a quiet day is possible.
"""

from datetime import UTC, datetime

import dagster as dg

from orchestration.defs.monitoring.clock import SOURCE_CLOCKS, SourceClock, source_as_of
from orchestration.defs.monitoring.freshness import judge_freshness, newest_record
from orchestration.defs.monitoring.settings import max_age_hours, severity, volume_settings
from orchestration.defs.monitoring.volume import judge_run_volume
from orchestration.lib.check_policy import is_blocking
from orchestration.lib.retry import NO_RETRY
from orchestration.lib.source_systems import SourceSystemsResource

# A run over a partition range re-extracts chosen days (a backfill): its size says nothing
# about the source's health.
_PARTITION_TAGS = ("dagster/partition", "dagster/asset_partition_range_start")


def freshness_check_name(system: str) -> str:
    return f"freshness_{system}"


def volume_check_name(system: str) -> str:
    return f"volume_{system}"


def _run_started(context: dg.AssetCheckExecutionContext) -> datetime:
    record = context.instance.get_run_record_by_id(context.run.run_id)
    return record.create_timestamp.astimezone(UTC)


def _freshness_result(context, clock: SourceClock, as_of) -> dg.AssetCheckResult:
    name = freshness_check_name(clock.system)
    limit = max_age_hours(clock.system)
    verdict = judge_freshness(clock.system, newest_record(clock), as_of, limit)
    if not verdict.passed:
        context.log.error(
            f"{name}: {verdict.description}. Check the {clock.system} export/API and its "
            "credentials; nothing newer has reached raw_" + clock.system + "."
        )
    return dg.AssetCheckResult(
        asset_key=clock.asset_key,
        check_name=name,
        passed=verdict.passed,
        severity=severity(name),
        description=verdict.description,
        metadata={
            "newest_record_at": verdict.newest.isoformat() if verdict.newest else "none",
            "age_hours": verdict.age_hours if verdict.age_hours is not None else -1.0,
            "max_age_hours": limit,
            "as_of": as_of.moment.isoformat(),
            "clock": as_of.origin,
            "clock_columns": [f"{c.table}.{c.column}" for c in clock.columns],
        },
    )


def _volume_result(context, clock: SourceClock, as_of) -> dg.AssetCheckResult:
    name = volume_check_name(clock.system)
    if any(tag in context.run.tags for tag in _PARTITION_TAGS):
        return dg.AssetCheckResult(
            asset_key=clock.asset_key,
            check_name=name,
            passed=True,
            severity=severity(name),
            description="backfill run over chosen days: volume not judged",
        )
    settings = volume_settings()
    verdict, facts = judge_run_volume(clock, _run_started(context), as_of, settings)
    if not verdict.passed:
        context.log.warning(f"{name}: {clock.system} {verdict.description}")
    return dg.AssetCheckResult(
        asset_key=clock.asset_key,
        check_name=name,
        passed=verdict.passed,
        severity=severity(name),
        description=f"{clock.system} {verdict.description}",
        metadata={
            "delivered": verdict.delivered,
            "usual": verdict.baseline if verdict.baseline is not None else -1.0,
            "ratio": verdict.ratio if verdict.ratio is not None else -1.0,
            "min_ratio": settings.min_ratio,
            "basis": verdict.basis,
            "resources": list(clock.resources),
            **facts,
        },
    )


def build_source_checks(clock: SourceClock) -> dg.AssetChecksDefinition:
    freshness, volume = freshness_check_name(clock.system), volume_check_name(clock.system)
    specs = [
        dg.AssetCheckSpec(
            freshness,
            asset=clock.asset_key,
            blocking=is_blocking(freshness),
            description=f"Newest {clock.system} record within its freshness limit "
            "(quality.yml `freshness`), on the source's clock.",
        ),
        dg.AssetCheckSpec(
            volume,
            asset=clock.asset_key,
            blocking=is_blocking(volume),
            description=f"This run's {clock.system} load against its recent loads "
            "(quality.yml `volume`).",
        ),
    ]

    @dg.multi_asset_check(
        specs=specs,
        name=f"monitor_{clock.system}",
        can_subset=True,
        retry_policy=NO_RETRY,
    )
    def _monitor(context: dg.AssetCheckExecutionContext, source_systems: SourceSystemsResource):
        as_of = source_as_of(source_systems.resolved_sources_dir())
        selected = {key.name for key in context.selected_asset_check_keys}
        if freshness in selected:
            yield _freshness_result(context, clock, as_of)
        if volume in selected:
            yield _volume_result(context, clock, as_of)

    return _monitor


source_checks = [build_source_checks(clock) for clock in SOURCE_CLOCKS.values()]
