"""The full-run job and its daily schedule; the backfill job over daily partitions."""

import dagster as dg

from orchestration.defs.schedules.jobs import backfill_job, full_run_job
from orchestration.defs.schedules.schedules import daily_full_run

# Every step writes or reads the one DuckDB warehouse file, which allows a single writer:
# steps run one after another in the run's process, also for materialisations from the UI.
defs = dg.Definitions(
    jobs=[full_run_job, backfill_job], schedules=[daily_full_run], executor=dg.in_process_executor
)
