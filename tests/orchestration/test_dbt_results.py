"""Judging a `dbt build`: blocking tests stop the run, others are only reported unless dbt
skipped models because of them."""

from __future__ import annotations

from orchestration.lib.dbt_results import build_problems

MANIFEST = {
    "nodes": {
        "test.omni.unique_fct_orders_order_id.a1": {
            "name": "unique_fct_orders_order_id",
            "config": {"meta": {"blocking": True}},
        },
        "test.omni.not_null_stg_pos__returns_return_id.b2": {
            "name": "not_null_stg_pos__returns_return_id",
            "config": {"meta": {}},
        },
        "model.omni.fct_orders": {"name": "fct_orders", "config": {}},
        "model.omni.kpi_channel_daily": {"name": "kpi_channel_daily", "config": {}},
    }
}


def _results(*rows):
    return {"results": [{"unique_id": u, "status": s, "message": m} for u, s, m in rows]}


def test_clean_build_has_no_problems():
    results = _results(
        ("model.omni.fct_orders", "success", "OK"),
        ("test.omni.unique_fct_orders_order_id.a1", "pass", None),
    )
    assert not build_problems(results, MANIFEST)


def test_failed_blocking_test_is_named_with_its_message():
    results = _results(("test.omni.unique_fct_orders_order_id.a1", "fail", "Got 2 results"))
    problems = build_problems(results, MANIFEST)
    assert problems
    assert problems.failed_blocking_tests == ["unique_fct_orders_order_id (Got 2 results)"]
    assert "blocking dbt tests failed: unique_fct_orders_order_id" in problems.describe()


def test_non_blocking_failure_alone_is_only_reported():
    results = _results(("test.omni.not_null_stg_pos__returns_return_id.b2", "fail", "Got 1"))
    problems = build_problems(results, MANIFEST)
    assert not problems
    assert problems.failed_other_tests == ["not_null_stg_pos__returns_return_id (Got 1)"]


def test_models_skipped_below_a_non_blocking_failure_stop_the_run():
    results = _results(
        ("test.omni.not_null_stg_pos__returns_return_id.b2", "error", "Catalog Error"),
        ("model.omni.fct_orders", "skipped", None),
        ("model.omni.kpi_channel_daily", "skipped", None),
    )
    problems = build_problems(results, MANIFEST)
    assert problems
    assert problems.skipped_nodes == ["fct_orders", "kpi_channel_daily"]
    assert "not_null_stg_pos__returns_return_id (Catalog Error)" in problems.describe()


def test_model_errors_are_problems():
    results = _results(("model.omni.fct_orders", "error", "Binder Error: column x"))
    assert build_problems(results, MANIFEST).broken_nodes == ["fct_orders (Binder Error: column x)"]
