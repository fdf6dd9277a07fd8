"""Great Expectations suites: one per raw table's new batch, one per published mart."""

from orchestration.defs.quality.suites.marts import (
    MartSuite,
    fct_orders_suite,
    mart_models,
    mart_suite,
)
from orchestration.defs.quality.suites.raw import RAW_TABLES, RawTable, load_time

__all__ = [
    "RAW_TABLES",
    "MartSuite",
    "RawTable",
    "fct_orders_suite",
    "load_time",
    "mart_models",
    "mart_suite",
]
