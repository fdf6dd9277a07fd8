"""Raw tables that once held dlt's row id and now take rows without one.

A resource that reached dlt as Python dicts got a random ``_dlt_id`` per row from dlt's
normaliser, and dlt created that column ``NOT NULL``. Once the resource hands dlt Arrow
tables (marketing ``spend`` since session 7), its rows carry no such id: the staging copy
or the append into a table created by the earlier code would fail on the constraint. The
column identifies nothing (random per row, read by no model), so it is dropped, once, from
the raw table, its staging copy and dlt's stored schema, and the table ends as a new
warehouse would create it.
"""

from __future__ import annotations

import logging

import dlt
from dlt.destinations.sql_client import SqlClientBase

from ingestion.destination import stored_schema

log = logging.getLogger(__name__)

ROW_ID = "_dlt_id"


def drop_row_ids(system: str, pipeline: dlt.Pipeline, tables: tuple[str, ...]) -> list[str]:
    """Drop ``_dlt_id`` from those of ``tables`` whose stored schema still has it; returns
    the tables changed."""
    if not tables:
        return []
    schema = stored_schema(pipeline)
    if schema is None:
        return []
    stale = [t for t in tables if ROW_ID in schema.tables.get(t, {}).get("columns", {})]
    if not stale:
        return []
    log.warning(
        "%s: %s still hold(s) dlt's random row id `%s` (rows loaded as Python records "
        "before); rows now arrive as Arrow tables without one, so the column is dropped",
        system,
        ", ".join(stale),
        ROW_ID,
    )
    with pipeline.sql_client() as client:
        for dataset in (client.dataset_name, client.staging_dataset_name):
            for table in stale:
                if _has_column(client, dataset, table):
                    client.execute_sql(f'ALTER TABLE "{dataset}"."{table}" DROP COLUMN "{ROW_ID}"')
    for table in stale:
        schema.tables[table]["columns"].pop(ROW_ID)
    # Saving bumps the schema version: the run stores the schema without it in the warehouse.
    pipeline.schemas.save_schema(schema)
    return stale


def _has_column(client: SqlClientBase[object], dataset: str, table: str) -> bool:
    rows = client.execute_sql(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s AND column_name = %s",
        dataset,
        table,
        ROW_ID,
    )
    return bool(rows)
