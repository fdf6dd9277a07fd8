"""Asset key conventions: one key per raw table, shared by the dlt and dbt translators.

A raw table is keyed ``[<dataset>, <table>]`` (``raw_crm/contacts``), exactly the schema and
table dbt's ``source()`` points at, so lineage flows from dlt resources into dbt without a
lookup table. dlt's nested child tables (``orders__line_items``) are written by the parent
resource, so they map onto the parent's key.
"""

from __future__ import annotations

import dagster as dg

CHILD_TABLE_SEPARATOR = "__"
PUBLISHED_MARTS_KEY = dg.AssetKey("published_marts")


def raw_table_key(dataset: str, table: str) -> dg.AssetKey:
    parent_table = table.split(CHILD_TABLE_SEPARATOR, 1)[0] if not table.startswith("_") else table
    return dg.AssetKey([dataset, parent_table])


def raw_group_name(dataset: str) -> str:
    return dataset


def dbt_model_key(assets: dg.AssetsDefinition, model: str) -> dg.AssetKey:
    """The key dagster-dbt gave a model (``marts/fct_orders``), looked up by model name."""
    matches = [key for key in assets.keys if key.path[-1] == model]
    if len(matches) != 1:
        raise KeyError(f"dbt model {model!r} matches {len(matches)} assets: {matches}")
    return matches[0]
