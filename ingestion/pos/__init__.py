"""POS source: the store tills' SQL database through dlt's ``sql_database`` (Arrow backend).

Config: ``SOURCES__POS__CREDENTIALS`` (any SQLAlchemy URL, e.g.
``postgresql://user:pass@host/pos``); defaults to the sandbox's ``DIR/pos/pos.sqlite``.
"""

from __future__ import annotations

import dlt
from dlt.sources.sql_database import sql_database

from ingestion.pos.settings import CONTRACTS, DEFAULT_LAG_DAYS, INCREMENTAL_CURSOR, RESOURCES
from ingestion.quarantine import with_validation

__all__ = ["RESOURCES", "pos"]

CHUNK_SIZE = 50_000


@dlt.source(name="pos", max_table_nesting=0)
def pos(credentials: str = dlt.secrets.value, lag_days: float = DEFAULT_LAG_DAYS):
    """Stores, tickets, ticket lines, returns, pickups and daily inventory, merged on their
    keys; every table with ``updated_at`` is read incrementally with a lag window."""
    tables = sql_database(
        credentials=credentials,
        table_names=list(RESOURCES),
        backend="pyarrow",
        chunk_size=CHUNK_SIZE,
        reflection_level="full",
        # Reflect at extract time, so the source builds before the database exists.
        defer_table_reflect=True,
    )
    resources = []
    for name, contract in CONTRACTS.items():
        resource = with_validation(tables.resources[name], contract)
        resource.apply_hints(primary_key=list(contract.primary_key), write_disposition="merge")
        if cursor := INCREMENTAL_CURSOR.get(name):
            resource.apply_hints(
                incremental=dlt.sources.incremental(
                    cursor, lag=lag_days * 86_400, on_cursor_value_missing="include"
                )
            )
        resources.append(resource)
    return resources
