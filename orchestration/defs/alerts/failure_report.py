"""What went wrong in a failed run, as the fields an on-call data engineer needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import dagster as dg


@dataclass(frozen=True)
class FailureReport:
    job: str
    run_id: str
    failed_steps: list[str]
    failed_checks: list[str]
    reason: str
    # Checks that failed without blocking (policy `warn`): context, not the cause.
    warnings: list[str] = field(default_factory=list)

    def as_payload(self) -> dict:
        return {"event": "dagster_run_failure", **asdict(self)}

    def log_line(self) -> str:
        steps = ", ".join(self.failed_steps) or "none"
        checks = ", ".join(self.failed_checks) or "none"
        line = (
            f"Run {self.run_id} of job {self.job} FAILED. Failed steps: {steps}. "
            f"Failed checks: {checks}. Reason: {self.reason}"
        )
        if self.warnings:
            line += f" Also warned: {', '.join(self.warnings)}"
        return line


def _failed_checks(context: dg.RunFailureSensorContext) -> tuple[list[str], list[str]]:
    """(blocking checks that failed, checks that only warned) in this run."""
    records = context.instance.get_records_for_run(
        run_id=context.dagster_run.run_id,
        of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    ).records
    failed, warned = set(), set()
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        label = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        blocks = evaluation.blocking and evaluation.severity == dg.AssetCheckSeverity.ERROR
        (failed if blocks else warned).add(label)
    return sorted(failed), sorted(warned)


def _step_reason(event: dg.DagsterEvent) -> str:
    error = event.event_specific_data.error
    if error is None:
        return ""
    # Dagster wraps the user's exception in "Error occurred while executing op": report the
    # original one, which is what says what broke.
    while error.cause is not None:
        error = error.cause
    return f"{event.step_key}: {error.message.strip()}"


def failure_report(context: dg.RunFailureSensorContext) -> FailureReport:
    step_failures = context.get_step_failure_events()
    # The run-level message only says "steps failed"; the step errors say why.
    reasons = [r for r in (_step_reason(e) for e in step_failures) if r]
    reason = " | ".join(reasons) or (context.failure_event.message or "unknown")
    failed_checks, warnings = _failed_checks(context)
    return FailureReport(
        job=context.dagster_run.job_name,
        run_id=context.dagster_run.run_id,
        failed_steps=sorted({e.step_key for e in step_failures if e.step_key}),
        failed_checks=failed_checks,
        reason=reason,
        warnings=warnings,
    )
