"""Fixtures shared by every part of the suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postgres_server import Postgres, PostgresUnavailable, running_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One throw-away PostgreSQL server for the whole session (see postgres_server.py)."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
