"""Great Expectations suites as blocking asset checks on the marts (``gx_<suite>``)."""

from collections.abc import Callable

import dagster as dg

from orchestration.defs.quality.suites import SUITES, MartSuite
from orchestration.defs.transform.assets import omni_dbt_assets
from orchestration.lib.asset_keys import dbt_model_key
from orchestration.lib.check_policy import is_blocking
from orchestration.lib.gx_validation import validate_dataframe
from orchestration.lib.retry import NO_RETRY
from orchestration.lib.warehouse import query_frame


def build_gx_check(make_suite: Callable[[], MartSuite]) -> dg.AssetChecksDefinition:
    spec = make_suite()

    @dg.asset_check(
        asset=dbt_model_key(omni_dbt_assets, spec.mart),
        name=f"gx_{spec.name}",
        blocking=is_blocking(f"gx_{spec.name}"),
        retry_policy=NO_RETRY,
        description=f"Great Expectations suite `{spec.name}` on marts.{spec.mart}.",
    )
    def _gx_check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        mart = make_suite()
        outcome = validate_dataframe(query_frame(mart.query), mart.name, mart.expectations)
        for fail in outcome.failures:
            context.log.error(f"gx_{mart.name}: {fail.label} failed; observed {fail.observed}")
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                f"{len(outcome.outcomes) - len(outcome.failures)}/{len(outcome.outcomes)} "
                f"expectations met on {outcome.rows} rows"
                + (
                    "; failed: " + ", ".join(f.label for f in outcome.failures)
                    if outcome.failures
                    else ""
                )
            ),
            metadata={
                "rows_validated": outcome.rows,
                "failed_expectations": dg.MetadataValue.json([f.label for f in outcome.failures]),
                "expectations": dg.MetadataValue.json(
                    [
                        {
                            "expectation": o.expectation,
                            "expected": o.arguments,
                            "observed": o.observed,
                            "success": o.success,
                        }
                        for o in outcome.outcomes
                    ]
                ),
            },
        )

    return _gx_check


gx_checks = [build_gx_check(make_suite) for make_suite in SUITES]
