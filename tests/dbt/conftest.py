"""One small sandbox world, loaded by the real dlt pipelines and built by the real dbt.

Session-scoped: generating, ingesting and `dbt build` happen once for all dbt tests.
"""

from __future__ import annotations

import shutil

import pytest
from dbt_world import WORLD, BuiltWorld, run_dbt


@pytest.fixture(scope="session")
def built_world(tmp_path_factory: pytest.TempPathFactory) -> BuiltWorld:
    from ingestion.pipelines import run_ingestion
    from ingestion.sandbox import generate

    data_dir = tmp_path_factory.mktemp("dbt_world")
    sources = data_dir / "sources"
    warehouse = data_dir / "warehouse.duckdb"
    generate(sources, **WORLD)
    run_ingestion(sources, warehouse)
    result = run_dbt(data_dir, "build")
    assert result.returncode == 0, f"dbt build failed:\n{result.stdout[-8000:]}"
    return BuiltWorld(sources=sources, warehouse=warehouse, dbt_log=result.stdout)


@pytest.fixture(scope="session")
def advanced_world(built_world: BuiltWorld, tmp_path_factory: pytest.TempPathFactory):
    """The built world moved three days on and rebuilt incrementally, and a copy of that
    warehouse where the incremental facts (fct_touchpoints, fct_orders) and everything
    downstream were rebuilt from scratch."""
    from ingestion.pipelines import run_ingestion
    from ingestion.sandbox import advance

    incremental = tmp_path_factory.mktemp("incremental")
    shutil.copytree(built_world.sources, incremental / "sources")
    shutil.copy(built_world.warehouse, incremental / "warehouse.duckdb")
    advance(incremental / "sources", 3)
    run_ingestion(incremental / "sources", incremental / "warehouse.duckdb")
    rebuild = ("run", "-s", "+fct_journeys", "+fct_orders", "kpi_inventory_availability")
    for step in (("snapshot",), rebuild):
        result = run_dbt(incremental, *step)
        assert result.returncode == 0, result.stdout[-4000:]

    full = tmp_path_factory.mktemp("full_refresh")
    shutil.copy(incremental / "warehouse.duckdb", full / "warehouse.duckdb")
    result = run_dbt(full, "run", "-s", "fct_touchpoints+", "fct_orders+", "--full-refresh")
    assert result.returncode == 0, result.stdout[-4000:]
    return (
        BuiltWorld(incremental / "sources", incremental / "warehouse.duckdb", ""),
        BuiltWorld(incremental / "sources", full / "warehouse.duckdb", ""),
    )
