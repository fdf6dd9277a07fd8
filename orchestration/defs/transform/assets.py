"""``dbt build`` of the whole project as one multi-asset (models, seeds, snapshots, tests).

In a run over a partition range (a backfill) dbt gets the vars ``backfill_start`` and
``backfill_end``: the incremental event facts delete and rebuild exactly those business days
and leave every other row alone; the other models rebuild as in any run.

The multi-asset stays whole and unpartitioned. The event facts sit between the identity
models and the marts, so a partitioned multi-asset of their own would make Dagster split the
rest of the project into two subset steps, and dagster-dbt runs source tests and singular
tests with several parents (e.g. the blocking attribution total) only in a whole,
non-subset invocation: a normal run would silently check less.
"""

import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.schedules.partitions import Window, backfill_window, describe
from orchestration.lib.dbt_project import omni_dbt_project
from orchestration.lib.dbt_results import build_problems
from orchestration.lib.dbt_translator import OmniDbtTranslator
from orchestration.lib.retry import NO_RETRY
from orchestration.lib.warehouse import table_row_counts

DBT_PROJECT = omni_dbt_project()


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False


def with_row_counts(context: dg.AssetExecutionContext, events: list, counts: dict[tuple, int]):
    for event in events:
        if isinstance(event, dg.Output):
            key = context.asset_key_for_output(event.output_name)
            rows = counts.get(tuple(key.path[-2:]))
            if rows is not None:
                event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
        yield event


def backfill_vars(window: Window | None) -> list[str]:
    """dbt's ``--vars`` for a backfill of ``window`` (ISO dates, end exclusive), else none."""
    if window is None:
        return []
    start, end = window
    return [
        "--vars",
        json.dumps({"backfill_start": start.isoformat(), "backfill_end": end.isoformat()}),
    ]


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=OmniDbtTranslator(),
    name="dbt_build",
    retry_policy=NO_RETRY,
)
def omni_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    window = backfill_window(context)
    if window and config.full_refresh:
        raise dg.Failure(
            description=f"A backfill of {describe(window)} rebuilds those days only; it "
            "cannot be a full refresh"
        )
    args = ["build", *(["--full-refresh"] if config.full_refresh else []), *backfill_vars(window)]
    if window:
        context.log.info(f"dbt build: backfill of the business days {describe(window)}")
    # The target folder is reused across runs (partial parsing); never judge a run by the
    # results file of the previous one.
    run_results = DBT_PROJECT.target_path / "run_results.json"
    run_results.unlink(missing_ok=True)
    # Test failures must not abort the stream: each one is reported as an asset check first,
    # then the step fails below, naming every blocking test that failed.
    invocation = dbt.cli(
        args, context=context, raise_on_error=False, target_path=DBT_PROJECT.target_path
    )
    # Row counts are read once dbt has finished (it holds DuckDB's only write lock while it
    # runs), so the materialisations reach Dagster at the end of the step, each with its count.
    events = list(invocation.stream())
    yield from with_row_counts(context, events, table_row_counts())

    if not run_results.exists():
        raise invocation.get_error() or dg.Failure(description="dbt build wrote no results")
    problems = build_problems(invocation.get_artifact("run_results.json"), invocation.manifest)
    for test in problems.failed_other_tests:
        context.log.warning(f"Non-blocking dbt test failed: {test}")
    # A non-blocking failure only fails the step when dbt skipped models below it: the
    # marts would then be a mix of fresh and stale tables, which must never be published.
    if problems:
        raise dg.Failure(description=f"dbt build did not pass: {problems.describe()}")
