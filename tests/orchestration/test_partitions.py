"""Daily partitions on the event-shaped data, the backfill job, and one run at a time."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

DAY = dt.date


def _partitions(graph, key: str):
    return graph.get(dg.AssetKey(key.split("/"))).partitions_def


def test_event_data_is_daily_partitioned_in_madrid_and_reference_data_is_not(graph):
    for key in (
        "raw_pos/transactions",
        "raw_pos/transaction_lines",
        "raw_pos/returns",
        "raw_pos/pickups",
        "raw_ecommerce/orders",
        "raw_ecommerce/checkouts",
        "raw_clickstream/events",
        "raw_messaging/conversations",
        "raw_messaging/deliveries",
    ):
        partitions = _partitions(graph, key)
        assert isinstance(partitions, dg.DailyPartitionsDefinition), key
        assert partitions.timezone == "Europe/Madrid"
        assert graph.get(dg.AssetKey(key.split("/"))).backfill_policy == (
            dg.BackfillPolicy.single_run()
        )
    for key in ("raw_pos/stores", "raw_pos/inventory_daily", "raw_ecommerce/customers",
                "raw_ecommerce/products", "raw_crm/contacts", "marts/dim_customers"):  # fmt: skip
        assert _partitions(graph, key) is None, key


def test_partitions_start_is_configurable(monkeypatch):
    import importlib

    import orchestration.defs.schedules.partitions as partitions

    assert partitions.daily_partitions.get_first_partition_key() == "2025-01-01"
    monkeypatch.setenv("OMNI_PARTITIONS_START", "2024-06-01")
    try:
        reloaded = importlib.reload(partitions)
        assert reloaded.daily_partitions.get_first_partition_key() == "2024-06-01"
    finally:
        monkeypatch.delenv("OMNI_PARTITIONS_START")
        importlib.reload(partitions)


def test_backfill_job_reprocesses_event_data_and_publishes_but_leaves_reference_data(defs):
    backfill = defs.resolve_job_def("omni_backfill")
    nodes = set(backfill.graph.node_dict)
    assert {"ingest_pos_events", "ingest_ecommerce_events", "ingest_clickstream"} <= nodes
    assert {"dbt_build", "published_marts", "reconcile_pos"} <= nodes
    # Reference data is not re-read by a backfill: CRM and the POS/shop master data.
    assert not {"ingest_crm", "ingest_pos", "ingest_ecommerce"} & nodes
    full = defs.resolve_job_def("omni_full_run")
    assert {"ingest_crm", "ingest_pos", "ingest_pos_events", "dbt_build"} <= set(
        full.graph.node_dict
    )


def test_the_schedule_stays_an_unpartitioned_incremental_run(defs):
    from orchestration.lib.runner import local_instance

    schedule = defs.resolve_schedule_def("daily_full_run")
    context = dg.build_schedule_context(
        instance=local_instance(),
        scheduled_execution_time=dt.datetime(2026, 3, 2, 5, tzinfo=dt.UTC),
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key is None
    assert "dagster/asset_partition_range_start" not in request.tags


@pytest.mark.parametrize(
    ("tags", "window"),
    [
        ({}, None),
        ({"dagster/partition": "2025-09-10"}, (DAY(2025, 9, 10), DAY(2025, 9, 11))),
        (
            {
                "dagster/asset_partition_range_start": "2025-09-10",
                "dagster/asset_partition_range_end": "2025-09-12",
            },
            (DAY(2025, 9, 10), DAY(2025, 9, 13)),
        ),
    ],
)
def test_a_run_window_is_its_partition_days_end_exclusive(tags, window):
    from orchestration.defs.schedules.partitions import range_tags, window_of_tags

    assert window_of_tags(tags) == window
    if window and "dagster/asset_partition_range_start" in tags:
        assert range_tags(window) == tags


def test_dbt_gets_the_backfill_vars_only_in_a_backfill():
    import json

    from orchestration.defs.transform.assets import backfill_vars

    assert backfill_vars(None) == []
    flag, text = backfill_vars((DAY(2025, 9, 10), DAY(2025, 9, 11)))
    assert flag == "--vars"
    assert json.loads(text) == {"backfill_start": "2025-09-10", "backfill_end": "2025-09-11"}


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        ("2025-09-12", "2025-09-12", "must come after --start"),
        ("2024-12-31", "2025-01-02", "before the first daily partition 2025-01-01"),
        ("2025-09-12", "2999-01-01", "last complete business day"),
    ],
)
def test_backfill_refuses_days_that_are_not_partitions(start, end, says, tmp_path, capsys):
    from orchestration.cli import EXIT_USAGE, main

    assert main(["backfill", "--start", start, "--end", end, "--sources", str(tmp_path)]) == (
        EXIT_USAGE
    )
    assert says in capsys.readouterr().err


def test_local_instance_queues_runs_one_at_a_time(data_dir):
    from orchestration.lib.runner import local_instance

    config = data_dir / "dagster_home" / "dagster.yaml"
    config.unlink(missing_ok=True)
    instance = local_instance()
    coordinator = instance.run_coordinator
    assert type(coordinator).__name__ == "QueuedRunCoordinator"
    assert coordinator.get_run_queue_config().max_concurrent_runs == 1
    assert "telemetry:\n  enabled: false" in config.read_text()


def test_an_older_omni_instance_file_is_upgraded_but_a_custom_one_is_kept(data_dir):
    from orchestration.lib.runner import local_instance

    config = data_dir / "dagster_home" / "dagster.yaml"
    older = "# Written by `omni run`. Headless runs ...\ntelemetry:\n  enabled: false\n"
    config.write_text(older)
    assert local_instance().run_coordinator.get_run_queue_config().max_concurrent_runs == 1
    custom = "telemetry:\n  enabled: false\n"
    config.write_text(custom)
    try:
        local_instance()
        assert config.read_text() == custom
    finally:
        config.unlink()
        local_instance()


def test_an_asset_backfill_from_the_ui_gives_dbt_its_days(graph, data_dir):
    """The asset graph's "Materialize → partition range" runs dbt (unpartitioned) in a run of
    its own, without partition tags: the window then comes from the backfill itself."""
    import time

    from dagster._core.execution.backfill import PartitionBackfill

    from orchestration.defs.schedules.partitions import asset_backfill_window
    from orchestration.lib.runner import local_instance

    instance = local_instance()
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id="omnitest",
        asset_graph=graph,
        partition_names=["2025-09-10", "2025-09-11", "2025-09-12"],
        asset_selection=[
            dg.AssetKey(["raw_pos", "transactions"]),
            dg.AssetKey(["raw_clickstream", "events"]),
        ],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=None,
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    assert asset_backfill_window(instance, "omnitest", graph) == (
        DAY(2025, 9, 10),
        DAY(2025, 9, 13),
    )
    assert asset_backfill_window(instance, "no-such-backfill", graph) is None


def test_omni_instance_prepares_dagster_home_for_the_ui(data_dir, capsys):
    from orchestration.cli import EXIT_OK, main

    config = data_dir / "dagster_home" / "dagster.yaml"
    config.unlink(missing_ok=True)
    assert main(["instance"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == str(data_dir / "dagster_home")
    assert "max_concurrent_runs: 1" in config.read_text()
