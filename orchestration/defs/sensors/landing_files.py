"""``new_landing_files_sensor``: start ``omni_full_run`` when file sources land new partitions."""

from __future__ import annotations

import os

import dagster as dg

from orchestration.defs.schedules.jobs import full_run_job
from orchestration.defs.sensors.landing_scan import (
    LandingCursor,
    cursor_for,
    new_since,
    run_key_for,
    scan_landing_files,
)
from orchestration.lib.source_systems import SourceSystemsResource

INTERVAL_ENV = "OMNI_LANDING_SENSOR_INTERVAL_SECONDS"
# Dagster run tag values are meant to be short: name a few partitions, count the rest.
MAX_PARTITIONS_IN_TAG = 10


def _partitions_tag(partitions: list[str]) -> str:
    shown = ",".join(partitions[:MAX_PARTITIONS_IN_TAG])
    more = len(partitions) - MAX_PARTITIONS_IN_TAG
    return f"{shown} (+{more} more)" if more > 0 else shown


# Stopped by default: starting runs on arrival is an operator's choice, and the daily schedule
# already runs everything; two runs at once would contend for DuckDB's single writer.
@dg.sensor(
    name="new_landing_files_sensor",
    job=full_run_job,
    minimum_interval_seconds=int(os.environ.get(INTERVAL_ENV, "60")),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts omni_full_run when new clickstream / messaging / marketing dt= "
    "partition files land under the sources dir. Files present when it is first switched on "
    "count as already processed.",
)
def new_landing_files_sensor(
    context: dg.SensorEvaluationContext, source_systems: SourceSystemsResource
) -> dg.SensorResult | dg.SkipReason:
    sources_dir = source_systems.resolved_sources_dir()
    files = scan_landing_files(sources_dir)
    current = cursor_for(files)
    previous = LandingCursor.parse(context.cursor)
    if previous is None:
        context.update_cursor(current.serialize())
        return dg.SkipReason(
            f"First look at {sources_dir}: {len(files)} landing files taken as already "
            "processed; runs start for files that land from now on."
        )
    new_files = new_since(files, previous)
    if not new_files:
        # Deleted files lower the count: keep the cursor in step so they are not re-counted.
        context.update_cursor(current.serialize())
        return dg.SkipReason(f"No new landing files under {sources_dir} ({len(files)} present).")

    partitions = sorted({f.partition for f in new_files})
    context.log.info(
        f"{len(new_files)} new landing file(s) in {len(partitions)} partition(s) under "
        f"{sources_dir}: {', '.join(partitions)}; requesting omni_full_run"
    )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key_for(new_files),
                tags={
                    "omni/trigger": "new_landing_files",
                    "omni/landing_partitions": _partitions_tag(partitions),
                },
            )
        ],
        cursor=current.serialize(),
    )
