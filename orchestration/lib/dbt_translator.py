"""How dbt nodes become Dagster assets and checks.

- A dbt source becomes the key of the dlt asset that loads the same table, so dbt models hang
  directly under the dlt resources in one lineage graph.
- Models are grouped by layer (staging / intermediate / marts), the folder they live in.
- Whether a dbt test blocks what comes after it is ``orchestration/quality.yml``'s decision: by
  default only tests carrying ``meta: {blocking: true}`` block; every other test is reported,
  never blocking (dagster-dbt's default would block on any ``error``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from orchestration.lib.asset_keys import raw_table_key
from orchestration.lib.check_policy import check_policy


def node_meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return {**(props.get("meta") or {}), **((props.get("config") or {}).get("meta") or {})}


def is_blocking_test(props: Mapping[str, Any]) -> bool:
    return check_policy().is_blocking_dbt_test(
        props.get("name", ""), bool(node_meta(props).get("blocking"))
    )


class OmniDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        # Several dbt sources (a parent and its dlt child tables) share one dlt asset key.
        super().__init__(DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            table = dbt_resource_props.get("identifier") or dbt_resource_props["name"]
            return raw_table_key(dbt_resource_props["schema"], table)
        return super().get_asset_key(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        # `meta.owner`, set per folder in dbt_project.yml and overridable per model.
        owner = node_meta(dbt_resource_props).get("owner")
        if owner:
            return [owner] if isinstance(owner, str) else list(owner)
        return super().get_owners(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # The layer is the custom schema dbt_project.yml gives each folder (seeds included).
        schema = (dbt_resource_props.get("config") or {}).get("schema")
        return schema or super().get_group_name(dbt_resource_props)

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        blocking = is_blocking_test(self.get_resource_props(manifest, unique_id))
        return spec._replace(blocking=blocking)
