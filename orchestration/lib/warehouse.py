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
