"""Great Expectations suites for every published mart (``gx_<mart>``), derived from dbt.

The columns, their types and nullability, the keys and the accepted values come from the
dbt manifest (the YAML beside each mart: enforced contract columns and their tests), so a
column added to a mart is checked without touching this file. What dbt does not declare is
derived from the column's name and type, the conventions of the marts:

- every count, amount and duration (numeric columns) is non-negative;
- a rate or share (``*_rate``, ``*_share``) lies within [0, 1];
- ``net_<x>`` never exceeds ``gross_<x>`` on the same row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import great_expectations.expectations as gxe

from orchestration.lib.dbt_project import omni_dbt_project

MARTS_PATH = "models/marts/"
RATE_SUFFIXES = ("_rate", "_share")
NUMERIC_TYPES = ("bigint", "integer", "int", "double", "float", "decimal", "numeric", "hugeint")
# dbt's declared types as they reach GX (see gx_validation.prepare_frame and raw.TYPE_LISTS).
_TYPE_LISTS = {
    "varchar": ["StringDtype"],
    "text": ["StringDtype"],
    "boolean": ["bool"],
    "bigint": ["int64", "float64"],
    "integer": ["int32", "int64", "float64"],
    "double": ["float64"],
    "decimal": ["float64"],
    "timestamp": ["datetime64[us]", "datetime64[ns]"],
    "date": ["datetime64[us]", "datetime64[ns]"],
}


@dataclass(frozen=True)
class MartSuite:
    name: str
    mart: str
    query: str
    expectations: list[gxe.Expectation]


@dataclass(frozen=True)
class MartModel:
    """What the dbt manifest declares about one mart."""

    name: str
    schema: str
    columns: dict[str, dict[str, Any]]
    tests: list[dict[str, Any]]


@cache
def _manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def mart_models(manifest_path: Path | None = None) -> dict[str, MartModel]:
    """Every model under ``models/marts``, with its columns and its tests, by name."""
    manifest = _manifest(manifest_path or omni_dbt_project().manifest_path)
    models = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["original_file_path"].startswith(MARTS_PATH)
    }
    tests: dict[str, list[dict[str, Any]]] = {unique_id: [] for unique_id in models}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node") in tests:
            tests[node["attached_node"]].append(node)
    return {
        node["name"]: MartModel(node["name"], node["schema"], node["columns"], tests[unique_id])
        for unique_id, node in sorted(models.items(), key=lambda item: item[1]["name"])
    }


def _base_type(data_type: str | None) -> str:
    return (data_type or "").split("(")[0].strip().lower()


def _test_name(test: dict[str, Any]) -> str:
    return (test.get("test_metadata") or {}).get("name", "")


def _test_kwargs(test: dict[str, Any]) -> dict[str, Any]:
    return (test.get("test_metadata") or {}).get("kwargs") or {}


def _declared_not_null(model: MartModel) -> list[str]:
    constrained = [
        name
        for name, column in model.columns.items()
        if any(c.get("type") == "not_null" for c in column.get("constraints") or [])
    ]
    tested = [t["column_name"] for t in model.tests if _test_name(t) == "not_null"]
    return list(dict.fromkeys([*constrained, *tested]))


def mart_expectations(model: MartModel) -> list[gxe.Expectation]:
    columns = list(model.columns)
    suite: list[gxe.Expectation] = [
        # The contract is enforced: BI depends on exactly these columns.
        gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True)
    ]
    not_null = _declared_not_null(model)
    for test in model.tests:
        name, kwargs = _test_name(test), _test_kwargs(test)
        column = test.get("column_name")
        if name == "unique" and column:
            suite.append(gxe.ExpectColumnValuesToBeUnique(column=column))
        elif name == "unique_combination_of_columns":
            combination = list(kwargs["combination"])
            suite.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=combination))
            # A grain's columns are its key: a null in one would hide a duplicate row.
            not_null.extend(c for c in combination if c not in not_null)
        elif name == "accepted_values" and column:
            suite.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=kwargs["values"]))
    suite.extend(gxe.ExpectColumnValuesToNotBeNull(column=column) for column in not_null)

    for name, column in model.columns.items():
        base = _base_type(column.get("data_type"))
        if base in _TYPE_LISTS:
            suite.append(
                gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=_TYPE_LISTS[base])
            )
        if name.endswith(RATE_SUFFIXES):
            suite.append(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=0, max_value=1))
        elif base in NUMERIC_TYPES:
            suite.append(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=0))
        if name.startswith("net_") and f"gross_{name[4:]}" in model.columns:
            suite.append(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=f"gross_{name[4:]}", column_B=name, or_equal=True
                )
            )
    return suite


def mart_suite(mart: str, manifest_path: Path | None = None) -> MartSuite:
    model = mart_models(manifest_path)[mart]
    return MartSuite(
        mart, mart, f"select * from {model.schema}.{model.name}", mart_expectations(model)
    )


def fct_orders_suite() -> MartSuite:
    return mart_suite("fct_orders")
