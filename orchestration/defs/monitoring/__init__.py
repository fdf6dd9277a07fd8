"""Monitoring: source freshness and volume on the raw assets, staging → marts reconciliation.

``defs`` is built on first access: the checks need the dbt manifest, and the pure rules
beside them (``volume_rule``, ``clock``) must stay importable without parsing dbt.
"""

from functools import cache

import dagster as dg


@cache
def _defs() -> dg.Definitions:
    from orchestration.defs.monitoring.marts_reconciliation import marts_reconciliation_checks
    from orchestration.defs.monitoring.source_checks import source_checks

    return dg.Definitions(asset_checks=[*source_checks, *marts_reconciliation_checks])


def __getattr__(name: str):
    if name == "defs":
        return _defs()
    raise AttributeError(name)
