"""Reconciliation: every record a source sent was loaded, quarantined or suppressed.

Reads ``raw_audit.load_reconciliation`` (written after each load) and checks, for the latest
load of every resource, ``received = loaded + quarantined + suppressed`` (suppressed: records
of people erased by ``omni forget``). Blocking: a record that vanished
between the source and the warehouse must stop the run before anything is published.
"""

import dagster as dg
import duckdb

from ingestion.reconciliation import AUDIT_DATASET, AUDIT_TABLE
from orchestration.lib.check_policy import is_blocking
from orchestration.lib.retry import NO_RETRY
from orchestration.lib.warehouse import query_rows

RECONCILIATION_CHECK = "load_reconciliation"

_LATEST_PER_RESOURCE = f"""
select resource, load_id, received, loaded, quarantined, coalesce(suppressed, 0)
from {AUDIT_DATASET}.{AUDIT_TABLE}
where source_system = ?
qualify row_number() over (partition by resource order by loaded_at desc, load_id desc) = 1
"""


def latest_reconciliation(system: str) -> dict[str, dict]:
    try:
        rows = query_rows(_LATEST_PER_RESOURCE, [system])
    except duckdb.CatalogException:  # no load has been audited in this warehouse yet
        return {}
    return {
        resource: {
            "load_id": load_id,
            "received": rec,
            "loaded": lod,
            "quarantined": qua,
            "suppressed": sup,
        }
        for resource, load_id, rec, lod, qua, sup in rows
    }


def build_reconciliation_check(
    system: str, assets: list[dg.AssetsDefinition]
) -> dg.AssetChecksDefinition:
    # The last path component of a raw asset key is its dlt table, i.e. the resource name.
    specs = [
        dg.AssetCheckSpec(
            RECONCILIATION_CHECK,
            asset=key,
            blocking=is_blocking(RECONCILIATION_CHECK),
            description="received = loaded + quarantined + suppressed for the latest load",
        )
        for key in sorted({k for a in assets for k in a.keys}, key=lambda k: k.to_user_string())
    ]

    @dg.multi_asset_check(
        specs=specs,
        name=f"reconcile_{system}",
        can_subset=True,
        retry_policy=NO_RETRY,
    )
    def _reconcile(context: dg.AssetCheckExecutionContext):
        latest = latest_reconciliation(system)
        for check_key in context.selected_asset_check_keys:
            resource = check_key.asset_key.path[-1]
            row = latest.get(resource)
            if row is None:
                yield dg.AssetCheckResult(
                    asset_key=check_key.asset_key,
                    check_name=RECONCILIATION_CHECK,
                    passed=False,
                    description=f"no reconciliation row for {system}.{resource}",
                )
                continue
            missing = row["received"] - row["loaded"] - row["quarantined"] - row["suppressed"]
            yield dg.AssetCheckResult(
                asset_key=check_key.asset_key,
                check_name=RECONCILIATION_CHECK,
                passed=missing == 0,
                description=(
                    f"received {row['received']} = loaded {row['loaded']} + quarantined "
                    f"{row['quarantined']} + suppressed {row['suppressed']}"
                    if missing == 0
                    else f"{missing} records unaccounted for: received {row['received']} "
                    f"!= loaded {row['loaded']} + quarantined {row['quarantined']} "
                    f"+ suppressed {row['suppressed']}"
                ),
                metadata={**row, "unaccounted": missing},
            )

    return _reconcile
