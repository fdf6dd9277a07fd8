"""A small sandbox world, loaded once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import Load, table_rows

from ingestion.pipelines import run_ingestion

sandbox = pytest.importorskip("ingestion.sandbox")

# Big enough that every table has rows (returns, refunds, pickups), small enough to be quick.
WORLD = {"customers": 400, "days": 28, "seed": 11}


def _load(sources: Path, warehouse: Path, **kwargs: Any) -> Load:
    rows = run_ingestion(sources, warehouse, **kwargs)
    return Load(sources, warehouse, rows, table_rows(warehouse))


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    sandbox.generate(out, **WORLD)
    return out


@pytest.fixture(scope="session")
def first_load(world, tmp_path_factory) -> Load:
    return _load(world, tmp_path_factory.mktemp("first") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def second_load(first_load) -> Load:
    """The same sources again, into the same warehouse and pipeline state."""
    return _load(first_load.sources, first_load.warehouse)
