"""Every definition loads, and the asset graph is one lineage from dlt resources to publish."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import dagster as dg
import yaml

REPO = Path(__file__).resolve().parents[2]


def test_definitions_are_loadable(defs):
    dg.Definitions.validate_loadable(defs)


def test_workspace_points_at_these_definitions(defs):
    # `make dev` and `dagster definitions validate -w workspace.yaml` load this module.
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    module = importlib.import_module(entry["python_module"]["module_name"])
    assert module.defs is defs


def test_staging_models_read_the_dlt_assets_of_the_same_tables(graph):
    contacts = dg.AssetKey(["raw_crm", "contacts"])
    assert contacts in graph.get(dg.AssetKey(["staging", "stg_crm__contacts"])).parent_keys
    # The raw table is materialised by the CRM dlt multi-asset, not a stub.
    assert graph.get(contacts).is_materializable
    assert graph.get(contacts).group_name == "raw_crm"
    # dlt child tables (orders__line_items) hang under the resource that writes them.
    line_items = graph.get(dg.AssetKey(["staging", "stg_ecommerce__order_line_items"])).parent_keys
    assert dg.AssetKey(["raw_ecommerce", "orders"]) in line_items


def test_every_raw_input_of_dbt_is_loaded_by_dlt(graph):
    unloaded = sorted(
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if not graph.get(key).is_materializable
    )
    assert unloaded == []


def test_groups_follow_systems_and_dbt_layers(graph):
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"raw_crm", "raw_pos", "raw_ecommerce", "staging", "marts", "publish"} <= groups
    assert graph.get(dg.AssetKey(["marts", "fct_orders"])).group_name == "marts"


def test_publish_waits_for_every_mart(graph):
    marts = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "marts"}
    assert {dg.AssetKey(["marts", "fct_orders"]), dg.AssetKey(["marts", "dim_customers"])} <= marts
    assert graph.get(dg.AssetKey("published_marts")).parent_keys == marts


def test_only_tests_marked_blocking_block(graph):
    from orchestration.defs.transform.assets import omni_dbt_assets
    from orchestration.lib.dbt_project import omni_dbt_project
    from orchestration.lib.dbt_translator import is_blocking_test

    nodes = json.loads(omni_dbt_project().manifest_path.read_text())["nodes"]
    blocking = {n["name"] for n in nodes.values() if n["resource_type"] == "test"
                and is_blocking_test(n)}  # fmt: skip
    specs = list(omni_dbt_assets.check_specs)
    assert specs, "dbt tests should surface as asset checks"
    assert blocking, "the dbt project marks some tests meta.blocking"
    assert {s.name for s in specs if s.blocking} == blocking & {s.name for s in specs}
    gx = graph.get_check_spec(
        dg.AssetCheckKey(dg.AssetKey(["marts", "fct_orders"]), "gx_fct_orders")
    )
    assert gx.blocking


def test_full_run_job_and_daily_schedule(defs, monkeypatch):
    job = defs.resolve_job_def("omni_full_run")
    assert {"dbt_build", "published_marts", "ingest_crm", "ingest_pos"} <= set(job.graph.node_dict)
    schedule = defs.resolve_schedule_def("daily_full_run")
    assert schedule.cron_schedule == "0 5 * * *"
    assert schedule.execution_timezone == "Europe/Madrid"

    import orchestration.defs.schedules.schedules as schedules

    monkeypatch.setenv("OMNI_SCHEDULE_CRON", "30 6 * * 1-5")
    try:
        assert importlib.reload(schedules).daily_full_run.cron_schedule == "30 6 * * 1-5"
    finally:
        monkeypatch.delenv("OMNI_SCHEDULE_CRON")
        importlib.reload(schedules)


def test_ingestion_retries_but_deterministic_steps_do_not(defs):
    from dagster._core.definitions.dependency import NodeHandle

    job = defs.resolve_job_def("omni_full_run")
    policy = job.get_retry_policy_for_handle(NodeHandle("ingest_crm", None))
    assert policy.max_retries == 3 and policy.backoff == dg.Backoff.EXPONENTIAL
    for node in ("dbt_build", "published_marts", "reconcile_pos"):
        assert job.get_retry_policy_for_handle(NodeHandle(node, None)).max_retries == 0


def test_every_asset_has_an_owner_and_a_description(graph):
    specs = {k: graph.get(k) for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert [k for k, node in specs.items() if not node.owners] == []
    assert [k for k, node in specs.items() if not node.description] == []
    assert specs[dg.AssetKey(["raw_pos", "transactions"])].owners == ["team:data-engineering"]
    assert specs[dg.AssetKey(["marts", "fct_orders"])].owners == ["team:analytics-engineering"]
