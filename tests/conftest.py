"""Fixtures shared by every part of the suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import Postgres, PostgresUnavailable, running_postgres


def pytest_configure() -> None:
    """Give each pytest-xdist worker (`make test` runs two) a data dir of its own.

    The orchestration fixes its dbt target folder (`$OMNI_DATA_DIR/dbt_target`) when the
    definitions are imported, and every in-process `dbt build` of that worker then writes
    there: two workers sharing it would overwrite each other's run_results.json and
    manifest mid-run. A plain `pytest` run (no worker id) keeps the data dir it was given.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        shared = Path(os.environ.get("OMNI_DATA_DIR", "data")).resolve()
        own = shared / "pytest_workers" / worker
        os.environ["OMNI_DATA_DIR"] = str(own)
        os.environ["DAGSTER_HOME"] = str(own / "dagster_home")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist, hand out the orchestration modules first.

    Each of them runs the whole pipeline (about a minute per run); the quick tests of the
    other folders then fill both workers' ends instead of one worker finishing a long
    module alone. Order within each folder is kept; a plain `pytest` run is not reordered.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: not item.nodeid.startswith("tests/orchestration/"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One throw-away PostgreSQL server for the whole session (see postgres_server.py)."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
