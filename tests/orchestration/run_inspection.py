"""What a finished `omni run` left behind: its run id, check results, and the failure alert."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import dagster as dg

from orchestration.defs.alerts.failure_report import FailureReport, failure_report


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_id_from(output: str) -> str:
    """The run id `omni run` prints."""
    (run_id,) = set(re.findall(r"Run ([0-9a-f-]{36}) (?:FAILED|succeeded)", output))
    return run_id


def evaluations(data_dir: Path, run_id: str) -> dict[str, dg.AssetCheckEvaluation]:
    from orchestration.lib.run_checks import check_evaluations

    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        return {e.check_name: e for e in check_evaluations(instance, run_id)}


def alert_for(data_dir: Path, run_id: str) -> FailureReport:
    """What the run-failure sensor reports for this run."""
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        run = instance.get_run_by_id(run_id)
        (record,) = instance.get_records_for_run(
            run_id=run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=record.event_log_entry.dagster_event,
        ).for_run_failure()
        return failure_report(context)
