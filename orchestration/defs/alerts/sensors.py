"""``alert_on_run_failure``: every failed run of any job is reported."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.alerts.failure_report import failure_report
from orchestration.defs.alerts.webhook import post_alert


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs every failed run (job, run id, failed steps and checks, reason) and "
    "posts it as JSON to OMNI_ALERT_WEBHOOK_URL when that is set.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    report = failure_report(context)
    context.log.error(report.log_line())
    post_alert(report.as_payload(), context.log)
