"""Validate a DataFrame against a Great Expectations suite and report what GX observed.

GX's SQL datasource over duckdb_engine returns empty batches (GX 1.24), so DuckDB query
results are validated through GX's pandas datasource instead. Setting GX up is the slow
part (its import and its data context), so one ephemeral context serves the whole process.

Every validation keeps GX's own validation-result JSON under
``$OMNI_DATA_DIR/gx/validations/<suite>/<run_id>.json`` for a data engineer to open.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

# No phoning home from a headless run: GX would otherwise try to send usage events.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from ingestion import paths

_OBSERVED_KEYS = (
    "observed_value",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "missing_count",
)
# How many failing rows GX returns per expectation: enough to see the pattern in the UI,
# few enough that a feed broken everywhere does not bloat the event log.
SAMPLE_ROWS = 10
DATASOURCE = "omni_warehouse"


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    arguments: dict[str, Any]
    success: bool
    observed: dict[str, Any]
    failing_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``expect_…(col, …)``: the expectation and the columns it looks at."""
        columns: list[str] = []
        for key, value in self.arguments.items():
            if key.startswith("column") and key != "column_set":
                columns.extend(map(str, value) if isinstance(value, list) else [str(value)])
        return f"{self.expectation}({', '.join(columns)})"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    success: bool
    rows: int
    outcomes: list[ExpectationOutcome]
    result_json: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    @property
    def failing_rows(self) -> list[dict[str, Any]]:
        """A sample of failing rows across every failed expectation, tagged with it."""
        return [
            {"expectation": failure.label, **row}
            for failure in self.failures
            for row in failure.failing_rows
        ]


@cache
def gx_context():
    """The process's one ephemeral GX context (in-memory stores, no progress bars)."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _batch_definition(suite_name: str):
    """The whole-dataframe batch definition of a suite, created once per process."""
    context = gx_context()
    try:
        source = context.data_sources.get(DATASOURCE)
    except KeyError:
        source = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = source.get_asset(suite_name)
    except LookupError:
        asset = source.add_dataframe_asset(suite_name)
    try:
        return asset.get_batch_definition("query_result")
    except KeyError:
        return asset.add_batch_definition_whole_dataframe("query_result")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return _jsonable(value.to_dict(orient="records"))
    if value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _failing_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = result.get("unexpected_rows")
    if isinstance(rows, pd.DataFrame):
        return _jsonable(rows.head(SAMPLE_ROWS).to_dict(orient="records"))
    if isinstance(rows, list):
        return _jsonable(rows[:SAMPLE_ROWS])
    return []


def prepare_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as GX's pandas engine can judge it, cheaply.

    - Text becomes pandas' NA-backed ``StringDtype``, which GX recognises as a column type
      (pandas 3's default string dtype it does not; as Python objects GX would check the
      type of every value, three times slower on a large batch). A column with no value at
      all arrives as objects from DuckDB; it has no type to contradict, so it is text too.
    - Timestamps and dates become naive nanosecond datetimes (aware ones in UTC): GX compares
      those with plain datetimes in one vectorised step, but DuckDB's microsecond ones value
      by value in Python (seconds on a large batch).
    - Nullable integers become numpy ones (floats when a value is missing), which GX knows.
    """
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        dtype = values.dtype
        if isinstance(dtype, pd.StringDtype) or (
            pd.api.types.is_object_dtype(dtype) and values.isna().all()
        ):
            frame[column] = values.astype(pd.StringDtype())
        elif isinstance(dtype, pd.DatetimeTZDtype):
            frame[column] = values.dt.tz_convert("UTC").dt.tz_localize(None).astype("M8[ns]")
        elif pd.api.types.is_datetime64_dtype(dtype):
            frame[column] = values.astype("M8[ns]")
        elif isinstance(dtype, pd.Int64Dtype | pd.Int32Dtype):
            frame[column] = values.astype("float64" if values.isna().any() else "int64")
    return frame


def validate_dataframe(
    frame: pd.DataFrame,
    suite_name: str,
    expectations: list[gx.expectations.Expectation],
) -> SuiteOutcome:
    # A suite belongs to a data context, so it is assembled only once the context exists.
    suite = gx.ExpectationSuite(name=suite_name, expectations=[e.copy() for e in expectations])
    frame = prepare_frame(frame)
    batch = _batch_definition(suite_name).get_batch(batch_parameters={"dataframe": frame})
    # SUMMARY with the failing rows themselves: the UI shows whole rows (ids included), not
    # only the offending values.
    result = batch.validate(
        suite,
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": SAMPLE_ROWS,
            "include_unexpected_rows": True,
        },
    )
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        arguments = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
        observed = {k: item.result[k] for k in _OBSERVED_KEYS if k in item.result}
        if item.result.get("partial_unexpected_list"):
            observed["unexpected_examples"] = item.result["partial_unexpected_list"][:5]
        if item.exception_info and item.exception_info.get("raised_exception"):
            observed["exception"] = item.exception_info.get("exception_message")
        outcomes.append(
            ExpectationOutcome(
                config.type,
                _jsonable(arguments),
                bool(item.success),
                _jsonable(observed),
                [] if item.success else _failing_rows(item.result),
            )
        )
    return SuiteOutcome(
        suite.name, bool(result.success), len(frame), outcomes, _jsonable(result.to_json_dict())
    )


def validations_dir() -> Path:
    return paths.data_dir() / "gx" / "validations"


def save_validation_result(outcome: SuiteOutcome, run_id: str) -> Path:
    """GX's validation result as JSON at ``gx/validations/<suite>/<run_id>.json``."""
    safe_run = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    path = validations_dir() / outcome.suite / f"{safe_run}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = outcome.result_json
    document["meta"] = {**document.get("meta", {}), "omni_run_id": run_id}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, default=str))
    tmp.replace(path)
    return path
