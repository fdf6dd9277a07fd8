"""One small sandbox world, loaded by the real dlt pipelines and built by the real dbt.

Session-scoped: generating, ingesting and `dbt build` happen once for all dbt tests.
"""

from __future__ import annotations

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
