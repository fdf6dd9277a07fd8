"""Every KPI is defined once, in a docs block, and every KPI column shows that block."""

from __future__ import annotations

import json
from collections import defaultdict

from dbt_world import BuiltWorld

# The columns that say where a KPI row sits (its grain), not what it measures.
GRAIN = {
    "date",
    "month",
    "channel",
    "store_id",
    "sku",
    "location_id",
    "location_type",
    "cohort_month",
    "activity_month",
    "months_since_first_order",
    "channel_segment",
    "attribution_model",
}


def test_every_kpi_column_shows_its_one_definition(built_world: BuiltWorld) -> None:
    manifest = json.loads((built_world.warehouse.parent / "target" / "manifest.json").read_text())
    shown_on: dict[str, list[str]] = defaultdict(list)
    kpi_models = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"].startswith("kpi_")
    ]
    assert len(kpi_models) == 8
    for model in kpi_models:
        for column in model["columns"].values():
            if column["name"] in GRAIN:
                continue
            where = f"{model['name']}.{column['name']}"
            metric = column["config"]["meta"].get("metric")
            assert metric, f"{where} has no meta.metric"
            # The description is the docs block itself, never a copy of its text.
            assert column["doc_blocks"] == [f"doc.omni.metric_{metric}"], where
            assert (
                column["description"]
                == manifest["docs"][f"doc.omni.metric_{metric}"]["block_contents"]
            )
            shown_on[metric].append(where)
    prefix = "doc.omni.metric_"
    defined = {name.removeprefix(prefix) for name in manifest["docs"] if name.startswith(prefix)}
    assert defined == set(shown_on), "every metric block is shown on a KPI column"
    # Shared definitions are shared on purpose (e.g. net revenue on several marts).
    assert len(shown_on["net_revenue"]) >= 4
