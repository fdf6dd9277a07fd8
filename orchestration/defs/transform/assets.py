"""``dbt build`` of the whole project as one multi-asset (models, seeds, snapshots, tests)."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.lib.dbt_project import omni_dbt_project
from orchestration.lib.dbt_results import build_problems
from orchestration.lib.dbt_translator import OmniDbtTranslator
from orchestration.lib.retry import NO_RETRY

DBT_PROJECT = omni_dbt_project()


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=OmniDbtTranslator(),
    name="dbt_build",
    retry_policy=NO_RETRY,
)
def omni_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    args = ["build", *(["--full-refresh"] if config.full_refresh else [])]
    # The target folder is reused across runs (partial parsing); never judge a run by the
    # results file of the previous one.
    run_results = DBT_PROJECT.target_path / "run_results.json"
    run_results.unlink(missing_ok=True)
    # Test failures must not abort the stream: each one is reported as an asset check first,
    # then the step fails below, naming every blocking test that failed.
    invocation = dbt.cli(
        args, context=context, raise_on_error=False, target_path=DBT_PROJECT.target_path
    )
    yield from invocation.stream()

    if not run_results.exists():
        raise invocation.get_error() or dg.Failure(description="dbt build wrote no results")
    problems = build_problems(invocation.get_artifact("run_results.json"), invocation.manifest)
    for test in problems.failed_other_tests:
        context.log.warning(f"Non-blocking dbt test failed: {test}")
    # A non-blocking failure only fails the step when dbt skipped models below it: the
    # marts would then be a mix of fresh and stale tables, which must never be published.
    if problems:
        raise dg.Failure(description=f"dbt build did not pass: {problems.describe()}")
