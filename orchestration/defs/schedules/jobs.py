"""``omni_full_run``: ingest every source, dbt build, all checks, publish; ``omni_backfill``: the
same for a range of days of the event-shaped data."""

import dagster as dg

from ingestion.pipelines import SYSTEMS
from orchestration.defs.schedules.partitions import daily_partitions
from orchestration.lib.retry import INGESTION_RETRY
from orchestration.lib.source_systems import ingest_parts

FULL_RUN_JOB_NAME = "omni_full_run"
BACKFILL_JOB_NAME = "omni_backfill"

# op_retry_policy only applies to ops without their own policy: dbt, the checks and the
# publication carry NO_RETRY, so this is the ingestion policy in practice (dagster-dlt's
# @dlt_assets cannot take a retry policy of its own).
full_run_job = dg.define_asset_job(
    name=FULL_RUN_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="One scheduled run: every source system → dbt build → checks → publish.",
    executor_def=dg.in_process_executor,
    op_retry_policy=INGESTION_RETRY,
)

# Reference data (CRM, POS stores and inventory, shop customers and products) has no days to
# re-read: a backfill leaves it as the last normal run loaded it.
REFERENCE_RAW_KEYS = [
    key
    for system in SYSTEMS
    for part in ingest_parts(system)
    if not part.partitioned
    for key in part.raw_keys
]

backfill_job = dg.define_asset_job(
    name=BACKFILL_JOB_NAME,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*REFERENCE_RAW_KEYS),
    description="Re-process a range of business days (Europe/Madrid) of the event-shaped data: "
    "re-extract those days of clickstream, messaging, POS tickets, online orders and spend, "
    "dbt build with backfill_start/backfill_end, all checks, publish. Launch it over a "
    "partition range; the single-run backfill policy makes the range one run.",
    executor_def=dg.in_process_executor,
    op_retry_policy=INGESTION_RETRY,
    partitions_def=daily_partitions,
)
