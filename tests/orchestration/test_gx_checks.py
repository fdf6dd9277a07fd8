"""The Great Expectations checks on every raw batch and every mart, run by Dagster.

The healthy world passes every suite; a bad row put into a loaded raw table or a mart fails
exactly the suite that guards it, and the failing row is in the check's metadata."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.quality.suites import RAW_TABLES, mart_models


@pytest.fixture
def gx_evaluations(first_run) -> dict[str, dg.AssetCheckEvaluation]:
    from orchestration.lib.run_checks import check_evaluations
    from orchestration.lib.runner import local_instance

    evaluations = check_evaluations(local_instance(), first_run.run_id)
    return {e.check_name: e for e in evaluations if e.check_name.startswith("gx_")}


def test_the_default_world_passes_every_suite(first_run, gx_evaluations, data_dir):
    raw = {table.check_name for tables in RAW_TABLES.values() for table in tables}
    marts = {f"gx_{mart}" for mart in mart_models()}
    # Every raw table (child tables included) and every mart has its suite, and ran.
    assert {"gx_raw_pos_transaction_lines", "gx_raw_ecommerce_orders__line_items"} <= raw
    assert {"gx_fct_orders", "gx_kpi_channel_daily", "gx_dim_customers"} <= marts
    assert len(raw) == 21 and len(marts) >= 15
    assert set(gx_evaluations) == raw | marts
    failed = {name: e.description for name, e in gx_evaluations.items() if not e.passed}
    assert failed == {}
    orders = gx_evaluations["gx_raw_ecommerce_orders"]
    assert orders.metadata["rows_validated"].value > 0
    # GX's validation result is kept for each suite, as GX wrote it.
    saved = data_dir / "gx" / "validations" / "fct_orders" / f"{first_run.run_id}.json"
    document = json.loads(saved.read_text())
    assert document["success"] is True
    assert document["statistics"]["unsuccessful_expectations"] == 0
    assert document["statistics"]["evaluated_expectations"] >= 20


@pytest.fixture
def warehouse_copy(first_run, data_dir, tmp_path):
    """A copy of the healthy data dir, to damage without touching the shared one."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns("sources", "published"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DATA_DIR", str(copy))
        patch.setenv("DAGSTER_HOME", str(copy / "dagster_home"))
        yield copy


def _execute(warehouse, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _run_checks(*names: str) -> dict[str, dg.AssetCheckEvaluation]:
    """Only these checks, through Dagster, as the full job runs them."""
    from orchestration.definitions import defs

    keys = [key for key in defs.resolve_asset_graph().asset_check_keys if key.name in names]
    assert len(keys) == len(names)
    job = dg.define_asset_job("gx_only", selection=dg.AssetSelection.checks(*keys))
    with dg.DagsterInstance.ephemeral() as instance:
        result = (
            dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
            .resolve_job_def("gx_only")
            .execute_in_process(instance=instance, raise_on_error=False)
        )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _metadata(evaluation: dg.AssetCheckEvaluation, name: str):
    return evaluation.metadata[name].value


def test_negative_quantity_and_duplicate_line_fail_the_pos_lines_suite(warehouse_copy):
    warehouse = warehouse_copy / "warehouse.duckdb"
    first, second = _execute(
        warehouse,
        "select transaction_id, line_no from raw_pos.transaction_lines "
        "where _dlt_load_id = (select max(_dlt_load_id) from raw_pos.transaction_lines) "
        "order by transaction_id, line_no limit 2",
    )
    # Two rows damaged inside the newest POS load: a line sold with a negative quantity and
    # a second copy of another line (its key twice).
    _execute(
        warehouse,
        "update raw_pos.transaction_lines set quantity = -3 "
        "where transaction_id = ? and line_no = ?",
        list(first),
    )
    _execute(
        warehouse,
        "insert into raw_pos.transaction_lines select * from raw_pos.transaction_lines "
        "where transaction_id = ? and line_no = ?",
        list(second),
    )

    evaluations = _run_checks("gx_raw_pos_transaction_lines", "gx_raw_pos_transactions")

    lines = evaluations["gx_raw_pos_transaction_lines"]
    assert not lines.passed
    assert lines.blocking  # quality.yml: gx_* blocks
    assert lines.asset_key == dg.AssetKey(["raw_pos", "transaction_lines"])
    failed = set(_metadata(lines, "failed_expectations"))
    assert "expect_column_values_to_be_between(quantity)" in failed
    assert "expect_compound_columns_to_be_unique(transaction_id, line_no)" in failed
    sample = _metadata(lines, "failing_rows_sample")
    negative = [r for r in sample if r["expectation"].endswith("between(quantity)")]
    assert [(r["transaction_id"], r["line_no"], r["quantity"]) for r in negative] == [(*first, -3)]
    duplicated = [
        (r["transaction_id"], r["line_no"])
        for r in sample
        if r["expectation"].startswith("expect_compound")
    ]
    assert duplicated == [second, second]
    expectation = next(
        e
        for e in _metadata(lines, "expectations")
        if e["expectation"] == "expect_column_values_to_be_between(quantity)"
    )
    assert expectation["expected"]["min_value"] == 1
    assert expectation["observed"]["unexpected_count"] == 1
    # The tickets themselves are untouched, so their suite still passes.
    assert evaluations["gx_raw_pos_transactions"].passed
    saved = json.loads(Path(_metadata(lines, "validation_result")).read_text())
    assert saved["success"] is False


def test_a_rate_above_one_fails_the_mart_suite(warehouse_copy):
    warehouse = warehouse_copy / "warehouse.duckdb"
    ((day, channel),) = _execute(
        warehouse,
        "select date, channel from marts.kpi_channel_daily where conversion_rate is not null "
        "order by date, channel limit 1",
    )
    _execute(
        warehouse,
        "update marts.kpi_channel_daily set conversion_rate = 1.25 where date = ? and channel = ?",
        [day, channel],
    )

    evaluations = _run_checks("gx_kpi_channel_daily", "gx_fct_orders")

    daily = evaluations["gx_kpi_channel_daily"]
    assert not daily.passed and daily.blocking
    assert _metadata(daily, "failed_expectations") == [
        "expect_column_values_to_be_between(conversion_rate)"
    ]
    (row,) = _metadata(daily, "failing_rows_sample")
    assert (row["channel"], row["conversion_rate"]) == (channel, 1.25)
    assert evaluations["gx_fct_orders"].passed
