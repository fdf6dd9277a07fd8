"""``omni_full_run``: ingest every source, dbt build, all checks, publish."""

import dagster as dg

from orchestration.lib.retry import INGESTION_RETRY

FULL_RUN_JOB_NAME = "omni_full_run"

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
