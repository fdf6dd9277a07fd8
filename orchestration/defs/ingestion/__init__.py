"""Ingestion: one dlt multi-asset per source system, reconciled after every load."""

import dagster as dg

from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import build_reconciliation_check
from orchestration.lib.resources import dlt_resource, source_systems

defs = dg.Definitions(
    assets=[part for parts in ingestion_assets.values() for part in parts],
    asset_checks=[
        build_reconciliation_check(system, assets) for system, assets in ingestion_assets.items()
    ],
    resources={"dlt": dlt_resource, "source_systems": source_systems},
)
