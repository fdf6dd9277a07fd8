"""The audit trail: for every run and resource, received = loaded + quarantined + suppressed.

``received`` comes from the counters the validation step keeps while extracting,
``loaded`` from the rows dlt normalised into the resource's table, and ``quarantined``
from the rows that actually landed in ``_quarantine`` for that load; ``suppressed`` counts
the records of people erased by ``omni forget`` (``ingestion.privacy``). They are measured
independently, so a record lost anywhere between extraction and the warehouse shows up
as a broken identity (logged as an error) instead of vanishing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
from dlt.common.pipeline import LoadInfo

from ingestion.destination import duckdb_destination
from ingestion.quarantine import QUARANTINE_TABLE

log = logging.getLogger(__name__)

AUDIT_DATASET = "raw_audit"
AUDIT_TABLE = "load_reconciliation"
AUDIT_PIPELINE = "omni_audit"

AUDIT_COLUMNS = {
    "load_id": {"data_type": "text", "nullable": False},
    "source_system": {"data_type": "text", "nullable": False},
    "resource": {"data_type": "text", "nullable": False},
    "received": {"data_type": "bigint", "nullable": False},
    "loaded": {"data_type": "bigint", "nullable": False},
    "quarantined": {"data_type": "bigint", "nullable": False},
    # Nullable: audit tables written before erasures existed have no such column.
    "suppressed": {"data_type": "bigint", "nullable": True},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}


def _extracted(pipeline: dlt.Pipeline) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Load ids of the last extract and the custom metrics of each resource in them."""
    trace = pipeline.last_trace
    extract_info = trace.last_extract_info if trace else None
    if extract_info is None:
        return [], {}
    load_ids: list[str] = []
    per_resource: dict[str, dict[str, Any]] = {}
    for load_id, steps in extract_info.metrics.items():
        load_ids.append(load_id)
        for step in steps:
            for name, metrics in step["resource_metrics"].items():
                custom = metrics.custom_metrics
                if custom.get("load_id") == load_id:
                    agg = per_resource.setdefault(
                        name, {"received": 0, "quarantined": 0, "suppressed": 0}
                    )
                    agg["received"] += custom.get("received", 0)
                    agg["quarantined"] += custom.get("quarantined", 0)
                    agg["suppressed"] += custom.get("suppressed", 0)
    return load_ids, per_resource


def _normalized_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace else None
    return dict(info.row_counts) if info else {}


def _landed_quarantine(pipeline: dlt.Pipeline, load_ids: list[str]) -> dict[str, int]:
    schema = pipeline.default_schema if pipeline.default_schema_name else None
    if not load_ids or schema is None or QUARANTINE_TABLE not in schema.tables:
        return {}
    placeholders = ", ".join(["%s"] * len(load_ids))
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(QUARANTINE_TABLE)
        try:
            rows = client.execute_sql(
                f"SELECT resource, count(*) FROM {table} WHERE load_id IN ({placeholders}) "
                "GROUP BY resource",
                *load_ids,
            )
        except Exception as exc:  # the table exists in the schema but not yet in the warehouse
            log.debug("no quarantine table yet for %s: %s", pipeline.pipeline_name, exc)
            return {}
    return {resource: int(n) for resource, n in rows or []}


def reconcile(
    system: str, pipeline: dlt.Pipeline, resources: list[str] | tuple[str, ...]
) -> list[dict[str, Any]]:
    """Reconciliation rows for the pipeline's last run, one per resource of the source."""
    load_ids, extracted = _extracted(pipeline)
    normalized = _normalized_rows(pipeline)
    landed = _landed_quarantine(pipeline, load_ids)
    naming = pipeline.default_schema.naming if pipeline.default_schema_name else None
    loaded_at = datetime.now(UTC)
    load_id = load_ids[-1] if load_ids else None
    rows = []
    for resource in resources:
        table = naming.normalize_table_identifier(resource) if naming else resource
        counters = extracted.get(resource, {"received": 0, "quarantined": 0, "suppressed": 0})
        row = {
            "load_id": load_id,
            "source_system": system,
            "resource": resource,
            "received": counters["received"],
            "loaded": normalized.get(table, 0),
            "quarantined": landed.get(resource, 0),
            "suppressed": counters["suppressed"],
            "loaded_at": loaded_at,
        }
        if row["received"] != row["loaded"] + row["quarantined"] + row["suppressed"]:
            log.error(
                "%s.%s does not reconcile in load %s: received %d != loaded %d + quarantined %d"
                " + suppressed %d",
                system,
                resource,
                load_id,
                row["received"],
                row["loaded"],
                row["quarantined"],
                row["suppressed"],
            )
        rows.append(row)
    return rows


def audit_pipeline(
    warehouse_path: Path,
    pipelines_dir: Path,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> dlt.Pipeline:
    """The pipeline writing ``raw_audit``; through ``connection``, the warehouse connection of
    the run it audits, if given."""
    return dlt.pipeline(
        pipeline_name=AUDIT_PIPELINE,
        destination=duckdb_destination(warehouse_path, connection=connection),
        dataset_name=AUDIT_DATASET,
        pipelines_dir=str(pipelines_dir),
    )


def record(
    rows: list[dict[str, Any]],
    warehouse_path: Path,
    pipelines_dir: Path,
    extra: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> LoadInfo | None:
    """Append reconciliation rows to ``raw_audit.load_reconciliation``, and the rows of other
    audit tables (``extra``: table -> (rows, column hints)) in the same load (through
    ``connection``, the audited run's warehouse connection, if given)."""
    tables = {AUDIT_TABLE: ([r for r in rows if r["load_id"] is not None], AUDIT_COLUMNS)}
    tables.update(extra or {})
    resources = [
        dlt.resource(table_rows, name=name, write_disposition="append", columns=columns)
        for name, (table_rows, columns) in tables.items()
        if table_rows
    ]
    if not resources:
        return None
    return audit_pipeline(warehouse_path, pipelines_dir, connection).run(resources)
