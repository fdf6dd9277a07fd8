"""The one Dagster ``Definitions`` of the warehouse, assembled from the domains in ``defs/``."""

import dagster as dg

from orchestration.defs import (
    alerts,
    ingestion,
    monitoring,
    publish,
    quality,
    schedules,
    sensors,
    transform,
)

defs = dg.Definitions.merge(
    ingestion.defs,
    transform.defs,
    quality.defs,
    monitoring.defs,
    publish.defs,
    schedules.defs,
    alerts.defs,
    sensors.defs,
)
