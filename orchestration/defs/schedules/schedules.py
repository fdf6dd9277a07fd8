"""Daily run at a cron taken from the environment (``OMNI_SCHEDULE_CRON``), Madrid time."""

import os

import dagster as dg

from orchestration.defs.schedules.jobs import full_run_job

DEFAULT_CRON = "0 5 * * *"
SCHEDULE_TIMEZONE = "Europe/Madrid"

daily_full_run = dg.ScheduleDefinition(
    name="daily_full_run",
    job=full_run_job,
    cron_schedule=os.environ.get("OMNI_SCHEDULE_CRON", DEFAULT_CRON),
    execution_timezone=SCHEDULE_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The whole pipeline once a day (cron from OMNI_SCHEDULE_CRON, Europe/Madrid).",
)
