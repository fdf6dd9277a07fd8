"""The asset checks a run evaluated, read back from the Dagster event log."""

from __future__ import annotations

import dagster as dg


def check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetCheckEvaluation]:
    entries = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return [
        entry.dagster_event.event_specific_data
        for entry in entries
        if entry.dagster_event is not None
    ]


def check_label(evaluation: dg.AssetCheckEvaluation) -> str:
    return f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"


def failed_blocking_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return sorted(
        check_label(evaluation)
        for evaluation in check_evaluations(instance, run_id)
        if not evaluation.passed
        and evaluation.blocking
        and evaluation.severity == dg.AssetCheckSeverity.ERROR
    )
