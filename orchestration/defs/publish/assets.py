"""``published_marts``: the last step of a run, and the only one BI tools ever see."""

import dagster as dg

from ingestion import paths
from orchestration.defs.transform.assets import omni_dbt_assets
from orchestration.lib.asset_keys import PUBLISHED_MARTS_KEY
from orchestration.lib.publish import MARTS_SCHEMA, publish_schema
from orchestration.lib.retry import NO_RETRY
from orchestration.lib.run_checks import failed_blocking_checks

MART_KEYS = sorted(
    (key for key, group in omni_dbt_assets.group_names_by_key.items() if group == MARTS_SCHEMA),
    key=lambda key: key.to_user_string(),
)


@dg.asset(
    key=PUBLISHED_MARTS_KEY,
    deps=MART_KEYS,
    group_name="publish",
    owners=["team:data-engineering"],
    kinds={"duckdb"},
    retry_policy=NO_RETRY,
    description="The `marts` schema copied to `$OMNI_DATA_DIR/published/marts.duckdb`, swapped "
    "in atomically and only when every blocking check of the run passed.",
)
def published_marts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    # Dagster already skips this step after a failed blocking check upstream; reading the
    # run's own check results as well also covers checks that are not direct parents.
    failed = failed_blocking_checks(context.instance, context.run.run_id)
    if failed:
        raise dg.Failure(
            description="Not publishing: blocking checks failed: "
            + ", ".join(failed)
            + f". The previous {paths.published_path()} is left untouched."
        )
    result = publish_schema(paths.warehouse_path(), paths.published_path(), MARTS_SCHEMA)
    rows = {table.name: table.rows for table in result.tables}
    context.log.info(
        f"Published {len(rows)} mart tables ({sum(rows.values())} rows) to {result.path}"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "tables": dg.MetadataValue.json(rows),
            "table_count": len(rows),
            "total_rows": sum(rows.values()),
            "bytes": result.bytes,
            **{f"rows.{name}": count for name, count in rows.items()},
        }
    )
