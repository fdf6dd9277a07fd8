"""Alerts when a run fails: a log line always, a JSON webhook when one is configured."""

import dagster as dg

from orchestration.defs.alerts.sensors import alert_on_run_failure

defs = dg.Definitions(sensors=[alert_on_run_failure])
