"""Short-lived read-only access to the working warehouse (DuckDB allows one writer)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ingestion import paths


def query_frame(sql: str, warehouse: Path | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse or paths.warehouse_path()), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


def query_rows(sql: str, params: list | None = None, warehouse: Path | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse or paths.warehouse_path()), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def table_row_counts(warehouse: Path | None = None) -> dict[tuple[str, str], int]:
    """Rows of every table (not view) dbt builds, keyed (schema, table)."""
    con = duckdb.connect(str(warehouse or paths.warehouse_path()), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database() "
            "and schema_name in ('staging', 'intermediate', 'marts', 'snapshots')"
        ).fetchall()
        return {
            (schema, table): con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            for schema, table in tables
        }
    finally:
        con.close()
