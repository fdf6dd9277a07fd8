"""Validate a DataFrame against a Great Expectations suite and report what GX observed.

GX's SQL datasource over duckdb_engine returns empty batches (GX 1.24), so DuckDB query
results are validated through GX's pandas datasource instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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

_OBSERVED_KEYS = ("observed_value", "element_count", "unexpected_count", "unexpected_percent")


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    arguments: dict[str, Any]
    success: bool
    observed: dict[str, Any]

    @property
    def label(self) -> str:
        columns = [str(v) for k, v in self.arguments.items() if k.startswith("column")]
        return f"{self.expectation}({', '.join(columns)})"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    success: bool
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]


def _ephemeral_context():
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def validate_dataframe(
    frame: pd.DataFrame, suite_name: str, expectations: list[gx.expectations.Expectation]
) -> SuiteOutcome:
    context = _ephemeral_context()
    # A suite belongs to a data context, so it is assembled only once the context exists.
    suite = gx.ExpectationSuite(name=suite_name, expectations=[e.copy() for e in expectations])
    asset = context.data_sources.add_pandas("omni_warehouse").add_dataframe_asset(suite_name)
    batch = asset.add_batch_definition_whole_dataframe("query_result").get_batch(
        batch_parameters={"dataframe": frame}
    )
    result = batch.validate(suite)
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        arguments = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
        observed = {k: item.result[k] for k in _OBSERVED_KEYS if k in item.result}
        if item.result.get("partial_unexpected_list"):
            observed["unexpected_examples"] = item.result["partial_unexpected_list"][:5]
        outcomes.append(
            ExpectationOutcome(config.type, _jsonable(arguments), item.success, _jsonable(observed))
        )
    return SuiteOutcome(suite.name, bool(result.success), len(frame), outcomes)
