"""How dlt resources become Dagster assets: ``[<dataset>, <table>]``, grouped per system."""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from orchestration.lib.asset_keys import raw_group_name, raw_table_key

# Who answers for a raw table: the team running the extraction pipelines.
RAW_OWNER = "team:data-engineering"


class OmniDltTranslator(DagsterDltTranslator):
    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        dataset = data.pipeline.dataset_name
        table = data.resource.table_name
        table = table if isinstance(table, str) else data.resource.name
        # No upstream stub per resource: the dlt resource is where the data enters the graph.
        return spec.replace_attributes(
            key=raw_table_key(dataset, table),
            group_name=raw_group_name(dataset),
            deps=[],
            owners=[RAW_OWNER],
            description=spec.description
            or f"`{dataset}.{table}`, loaded by dlt from the {data.resource.name} resource.",
        )
