"""Where everything lives on disk. One place, driven by ``OMNI_DATA_DIR`` (CONTRACT §2)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = "./data"


def data_dir() -> Path:
    return Path(os.environ.get("OMNI_DATA_DIR", DEFAULT_DATA_DIR)).resolve()


def sources_dir() -> Path:
    """Default sandbox output (``omni sandbox generate --out`` default)."""
    return data_dir() / "sources"


def warehouse_path() -> Path:
    """The working DuckDB warehouse: raw datasets, staging, intermediate and marts."""
    return data_dir() / "warehouse.duckdb"


def published_path() -> Path:
    """What BI tools read; replaced atomically only after a run's blocking checks pass."""
    return data_dir() / "published" / "marts.duckdb"


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME", data_dir() / "dagster_home")).resolve()
