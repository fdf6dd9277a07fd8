"""dlt's DuckDB destination: capabilities resolved once, and one warehouse connection per run.

dlt asks a destination for its capabilities ~80 times per pipeline run and, each time,
resolves a partial destination configuration through every config provider (20-30 ms
each: seconds of fixed cost per run, most of a small source's time). Nothing that
configuration depends on changes during a run, so it is resolved once.

Left to itself, dlt opens the warehouse file for each thing it does (restoring state,
creating tables, each load job, recording the load) and closes it again, which costs ~15 ms
of CPU and ~30 ms of wall time per open and close (a checkpoint): a marketing run, its audit
and its checks opened it 9 times, a POS run 10. ``warehouse_connection`` opens it once for
everything one system run does; dlt then hands each step a cursor of that connection (dlt's
own way of sharing a connection between its load threads).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
import duckdb
from dlt.common.schema import Schema
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials


@contextmanager
def warehouse_connection(warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """One open connection to the warehouse file, closed (and checkpointed) at the end.

    While it is open no other process can write the warehouse: hold it for one system run,
    not longer.
    """
    path = Path(warehouse_path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path))
    try:
        yield connection
    finally:
        connection.close()


def duckdb_destination(
    warehouse_path: Path,
    global_config: dict[str, Any] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> Any:
    """The DuckDB destination writing ``warehouse_path`` (DuckDB settings ``global_config``),
    through ``connection`` (from ``warehouse_connection``) when given, else opening the file
    for each step."""
    target = connection if connection is not None else str(Path(warehouse_path).resolve())
    destination = dlt.destinations.duckdb(DuckDbCredentials(target, global_config=global_config))
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


def stored_schema(pipeline: dlt.Pipeline) -> Schema | None:
    """The pipeline's default schema, restored from the warehouse first when there is no local
    state (a new machine, a copied warehouse), as dlt would as the run starts; None for a
    pipeline that never loaded."""
    if not pipeline.default_schema_name:
        pipeline.sync_destination()
        if not pipeline.default_schema_name:
            return None
    return pipeline.default_schema
