"""One small world and one real pipeline run, shared by the orchestration tests.

The environment (OMNI_DATA_DIR, DAGSTER_HOME) is set only while these fixtures work and
around each orchestration test, so other test folders never see it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

WORLD = {"customers": 300, "days": 28, "seed": 42}


@contextlib.contextmanager
def omni_env(data_dir: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DATA_DIR", str(data_dir))
        patch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
        yield data_dir


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("omni_orchestration")


@pytest.fixture(autouse=True)
def _orchestration_env(data_dir) -> Iterator[None]:
    with omni_env(data_dir):
        yield


@pytest.fixture(scope="session")
def sources_dir(data_dir) -> Path:
    from ingestion.sandbox import generate

    sources = data_dir / "sources"
    with omni_env(data_dir):
        generate(sources, **WORLD)
    return sources


@pytest.fixture(scope="session")
def first_run(data_dir, sources_dir):
    """The full job, in-process, exactly as `omni run` executes it."""
    from orchestration.lib.runner import run_full_pipeline

    with omni_env(data_dir):
        outcome = run_full_pipeline(sources_dir=sources_dir)
    assert outcome.ok, f"first run failed: {outcome.failed_checks} {outcome.failed_steps}"
    return outcome


def _first_row(database: Path, schema: str, sql: str) -> tuple:
    import duckdb

    # Attached under an alias, as a BI tool would: opened directly, marts.duckdb makes
    # `marts.<table>` ambiguous between the file's catalog and the schema.
    con = duckdb.connect()
    try:
        con.execute(f"attach '{database}' as db (read_only)")
        con.execute(f"use db.{schema}")
        return con.execute(sql).fetchone()
    finally:
        con.close()


@pytest.fixture
def warehouse_row(data_dir):
    """First row of a query on the working warehouse's marts schema."""
    return lambda sql, root=data_dir: _first_row(root / "warehouse.duckdb", "marts", sql)


@pytest.fixture
def published_row(data_dir):
    """First row of a query on the published file, the way BI reads it."""
    return lambda sql, root=data_dir: _first_row(root / "published" / "marts.duckdb", "marts", sql)


@pytest.fixture(scope="module")
def defs():
    """The project's one Definitions object, loaded once per test module."""
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()
