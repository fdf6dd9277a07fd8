"""dlt's DuckDB destination with its capabilities resolved once per destination.

dlt asks a destination for its capabilities ~80 times per pipeline run and, each time,
resolves a partial destination configuration through every config provider (20-30 ms
each: seconds of fixed cost per run, most of a small source's time). Nothing that
configuration depends on changes during a run, so it is resolved once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials


def duckdb_destination(warehouse_path: Path, global_config: dict[str, Any] | None = None) -> Any:
    """The DuckDB destination writing ``warehouse_path`` (DuckDB settings ``global_config``)."""
    destination = dlt.destinations.duckdb(
        DuckDbCredentials(str(Path(warehouse_path).resolve()), global_config=global_config)
    )
    capabilities = destination.capabilities
    resolved: list[Any] = []

    def partial_config() -> Any:
        # What dlt's Destination.capabilities() builds when given no config: the explicit
        # credentials, everything else as the config providers say (partially resolved).
        if not resolved:
            credentials = destination.config_params["credentials"].copy()
            config = destination.spec(credentials=credentials)
            resolved.append(destination.configuration(config, accept_partial=True))
        return resolved[0]

    def cached_capabilities(config: Any = None, naming: Any = None) -> Any:
        return capabilities(config if config is not None else partial_config(), naming)

    destination.capabilities = cached_capabilities
    return destination
