"""Great Expectations suites as asset checks: ``gx_raw_<system>_<table>`` and ``gx_<mart>``.

GX is slow to set up, so the checks are grouped into few ops: one per source system (every
raw table of the system, one check result each, on the raw asset that wrote the table) and
one for all the marts. Whether a failure blocks publication comes from
``orchestration/quality.yml`` (``check_policy.is_blocking``), never from here.

Each result carries what GX expected and observed and a sample of the failing rows, and GX's
validation-result JSON is kept at ``$OMNI_DATA_DIR/gx/validations/<suite>/<run_id>.json``.
"""

import contextlib
from collections.abc import Iterator

import dagster as dg
import duckdb

from ingestion import paths
from orchestration.defs.quality.suites import RAW_TABLES, RawTable, load_time, mart_models
from orchestration.defs.quality.suites import mart_suite as build_mart_suite
from orchestration.defs.transform.assets import omni_dbt_assets
from orchestration.lib.asset_keys import dbt_model_key, raw_table_key
from orchestration.lib.check_policy import is_blocking
from orchestration.lib.gx_validation import (
    SuiteOutcome,
    save_validation_result,
    validate_dataframe,
)
from orchestration.lib.retry import NO_RETRY

# Failing rows shown in one check's metadata, across all its failed expectations.
METADATA_SAMPLE_ROWS = 20
MARTS_OP = "gx_marts"


def raw_op_name(system: str) -> str:
    return f"gx_raw_{system}"


@contextlib.contextmanager
def _warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    # One read-only connection per op: opening the warehouse file costs more than most
    # of the small queries a suite runs.
    con = duckdb.connect(str(paths.warehouse_path()), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _check_result(
    context: dg.AssetCheckExecutionContext,
    asset_key: dg.AssetKey,
    check_name: str,
    outcome: SuiteOutcome,
    subject: str,
    extra: dict | None = None,
) -> dg.AssetCheckResult:
    path = save_validation_result(outcome, context.run.run_id)
    met = len(outcome.outcomes) - len(outcome.failures)
    description = (
        f"{met}/{len(outcome.outcomes)} expectations met on {outcome.rows} rows of {subject}"
    )
    if outcome.failures:
        description += "; failed: " + ", ".join(f.label for f in outcome.failures)
    for failure in outcome.failures:
        example = failure.failing_rows[0] if failure.failing_rows else None
        context.log.error(
            f"{check_name}: {failure.label} failed on {subject}; expected {failure.arguments}, "
            f"observed {failure.observed}" + (f"; e.g. row {example}" if example else "")
        )
    if not outcome.failures:
        context.log.info(f"{check_name}: {description}")
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            **(extra or {}),
            "rows_validated": outcome.rows,
            "failed_expectations": dg.MetadataValue.json([f.label for f in outcome.failures]),
            "failing_rows_sample": dg.MetadataValue.json(
                outcome.failing_rows[:METADATA_SAMPLE_ROWS]
            ),
            "expectations": dg.MetadataValue.json(
                [
                    {
                        "expectation": o.label,
                        "expected": o.arguments,
                        "observed": o.observed,
                        "success": o.success,
                    }
                    for o in outcome.outcomes
                ]
            ),
            "validation_result": dg.MetadataValue.path(str(path)),
        },
    )


def _missing_table(asset_key: dg.AssetKey, check_name: str, relation: str, error: Exception):
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{relation} could not be read: {error}",
    )


def validate_raw_table(
    context: dg.AssetCheckExecutionContext, con: duckdb.DuckDBPyConnection, table: RawTable
) -> dg.AssetCheckResult:
    asset_key = raw_table_key(table.dataset, table.table)
    relation = f"{table.dataset}.{table.table}"
    try:
        ((load_id,),) = con.execute(table.load_id_sql()).fetchall()
        frame = con.sql(table.batch_sql(load_id)).df()
    except duckdb.CatalogException as exc:
        return _missing_table(asset_key, table.check_name, relation, exc)
    loaded_at = load_time(load_id) if load_id else None
    outcome = validate_dataframe(frame, table.suite_name, table.expectations(loaded_at))
    batch = f"{relation} load {load_id}" if load_id else f"{relation} (no load yet)"
    return _check_result(
        context,
        asset_key,
        table.check_name,
        outcome,
        batch,
        {
            "load_id": load_id or "",
            "loaded_at": loaded_at.isoformat() if loaded_at else "",
        },
    )


def build_raw_gx_check(system: str) -> dg.AssetChecksDefinition:
    tables = RAW_TABLES[system]
    specs = [
        dg.AssetCheckSpec(
            table.check_name,
            asset=raw_table_key(table.dataset, table.table),
            blocking=is_blocking(table.check_name),
            description=(
                f"Great Expectations suite `{table.suite_name}` on the newest dlt load of "
                f"{table.dataset}.{table.table}: keys, types, ranges, formats, references."
            ),
            # References into another system's tables must see that system's load of this run.
            additional_deps=sorted(
                {raw_table_key(dataset, name) for dataset, name in table.other_system_tables()},
                key=lambda key: key.to_user_string(),
            ),
        )
        for table in tables
    ]

    @dg.multi_asset_check(
        specs=specs, name=raw_op_name(system), can_subset=True, retry_policy=NO_RETRY
    )
    def _gx_raw(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        selected = {key.name for key in context.selected_asset_check_keys}
        with _warehouse() as con:
            for table in tables:
                if table.check_name in selected:
                    yield validate_raw_table(context, con, table)

    return _gx_raw


def _mart_key(mart: str) -> dg.AssetKey:
    return dbt_model_key(omni_dbt_assets, mart)


def build_mart_gx_check() -> dg.AssetChecksDefinition:
    marts = list(mart_models())
    specs = [
        dg.AssetCheckSpec(
            f"gx_{mart}",
            asset=_mart_key(mart),
            blocking=is_blocking(f"gx_{mart}"),
            description=(
                f"Great Expectations suite `{mart}` on marts.{mart}: contract columns, keys, "
                "accepted values, non-negative amounts, rates within [0, 1], net ≤ gross."
            ),
        )
        for mart in marts
    ]

    @dg.multi_asset_check(specs=specs, name=MARTS_OP, can_subset=True, retry_policy=NO_RETRY)
    def _gx_marts(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        selected = {key.name for key in context.selected_asset_check_keys}
        with _warehouse() as con:
            for mart in marts:
                if f"gx_{mart}" not in selected:
                    continue
                suite = build_mart_suite(mart)
                key, name = _mart_key(mart), f"gx_{mart}"
                try:
                    frame = con.sql(suite.query).df()
                except duckdb.CatalogException as exc:
                    yield _missing_table(key, name, f"marts.{mart}", exc)
                    continue
                outcome = validate_dataframe(frame, suite.name, suite.expectations)
                yield _check_result(context, key, name, outcome, f"marts.{mart}")

    return _gx_marts


gx_checks = [*(build_raw_gx_check(system) for system in RAW_TABLES), build_mart_gx_check()]
