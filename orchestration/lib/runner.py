"""Run the ``omni_full_run`` job (or ``omni_backfill`` over a range of days) in this process,
against the Dagster instance in DAGSTER_HOME.

These are the jobs the daily schedule and the UI launch; ``omni run``, ``omni backfill`` and
the tests go through here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from ingestion import paths
from orchestration.lib.asset_keys import PUBLISHED_MARTS_KEY

_WRITTEN_BY_OMNI = "# Written by `omni run`."
_INSTANCE_YAML = f"""\
{_WRITTEN_BY_OMNI} Headless runs must not try to reach Dagster's telemetry endpoint.
telemetry:
  enabled: false
# DuckDB allows one writer: runs the schedule, the sensor or the UI start wait in a queue and
# execute one at a time (`dagster dev` / the daemon dequeue them).
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
"""


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    published: bool
    failed_checks: list[str] = field(default_factory=list)
    check_descriptions: dict[str, str] = field(default_factory=dict)
    failed_steps: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    published_metadata: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.success and self.published and not self.failed_checks


def local_instance() -> dg.DagsterInstance:
    """The persistent instance under DAGSTER_HOME (default ``$OMNI_DATA_DIR/dagster_home``)."""
    home = paths.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    # A file of our own from an older version is brought up to date; anyone else's is theirs.
    if not config.exists() or (
        config.read_text().startswith(_WRITTEN_BY_OMNI) and config.read_text() != _INSTANCE_YAML
    ):
        config.write_text(_INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def full_run_config(
    sources_dir: Path | None, full_refresh: bool, op_names: list[str], log_level: str = "INFO"
) -> dict:
    """Run config of a run; ``op_names`` are the steps that take ``full_refresh``."""
    # Dagster's console logger defaults to DEBUG (every engine event); INFO keeps what a
    # data engineer reads: what was loaded, reconciled, built, checked and published.
    config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if sources_dir is not None:
        config["resources"] = {
            "source_systems": {"config": {"sources_dir": str(Path(sources_dir).resolve())}}
        }
    if full_refresh:
        config["ops"] = {name: {"config": {"full_refresh": True}} for name in op_names}
    return config


_FAILURE_PREFIX = "dagster._core.definitions.events.Failure: "


def _root_message(error) -> str:
    """The message that explains a step failure, not Dagster's retry wrapper around it."""
    messages = []
    while error is not None:
        message = error.message.strip().removeprefix(_FAILURE_PREFIX)
        if message and not message.startswith("Exceeded max_retries"):
            messages.append(message)
        error = error.cause
    return messages[0] if messages else "failed"


def _summarise(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance) -> RunOutcome:
    from orchestration.lib.run_checks import check_label

    evaluations = result.get_asset_check_evaluations()
    failed_checks = sorted(
        check_label(e)
        for e in evaluations
        if not e.passed and e.blocking and e.severity == dg.AssetCheckSeverity.ERROR
    )
    warnings = sorted(
        check_label(e)
        for e in evaluations
        if not e.passed and not (e.blocking and e.severity == dg.AssetCheckSeverity.ERROR)
    )
    descriptions = {check_label(e): e.description for e in evaluations if e.description}
    failed_steps = {
        event.step_key: _root_message(event.step_failure_data.error)
        for event in result.get_step_failure_events()
    }
    published = [
        event
        for event in result.get_asset_materialization_events()
        if event.asset_key == PUBLISHED_MARTS_KEY
    ]
    metadata = {}
    if published:
        metadata = {k: v.value for k, v in published[-1].materialization.metadata.items()}
    return RunOutcome(
        run_id=result.run_id,
        success=result.success,
        published=bool(published),
        failed_checks=failed_checks,
        check_descriptions=descriptions,
        failed_steps=failed_steps,
        warnings=warnings,
        published_metadata=metadata,
    )


def refreshable_op_names(job: dg.JobDefinition) -> list[str]:
    """The steps of ``job`` that take a ``full_refresh`` config: every dlt load and dbt."""
    return sorted(
        name
        for name, node in job.graph.node_dict.items()
        if node.definition.name.startswith("ingest_") or node.definition.name == "dbt_build"
    )


def _execute(
    job_name: str,
    sources_dir: Path | None,
    full_refresh: bool,
    instance: dg.DagsterInstance | None,
    log_level: str,
    tags: dict[str, str] | None = None,
) -> RunOutcome:
    # Imported here: loading the definitions parses dbt and builds the dlt sources, which
    # must happen after OMNI_DATA_DIR is final.
    from orchestration.definitions import defs

    instance = instance or local_instance()
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        run_config=full_run_config(sources_dir, full_refresh, refreshable_op_names(job), log_level),
        instance=instance,
        raise_on_error=False,
        tags=tags,
    )
    return _summarise(result, instance)


def run_full_pipeline(
    sources_dir: Path | None = None,
    full_refresh: bool = False,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
) -> RunOutcome:
    from orchestration.defs.schedules.jobs import FULL_RUN_JOB_NAME

    return _execute(FULL_RUN_JOB_NAME, sources_dir, full_refresh, instance, log_level)


def run_backfill(
    window: tuple[date, date],
    sources_dir: Path | None = None,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
) -> RunOutcome:
    """One run of ``omni_backfill`` over the business days [start, end): re-extract, rebuild,
    check and publish those days (a ValueError for days outside the partitions)."""
    from orchestration.defs.schedules.jobs import BACKFILL_JOB_NAME
    from orchestration.defs.schedules.partitions import check_backfill_window, range_tags

    return _execute(
        BACKFILL_JOB_NAME,
        sources_dir,
        False,
        instance,
        log_level,
        tags=range_tags(check_backfill_window(window)),
    )
