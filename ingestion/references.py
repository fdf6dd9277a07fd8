"""Reference checks that need another system's data: flagged after the load, not quarantined.

A SKU the e-commerce catalogue does not (yet) know is still a real sale: rejecting it would
take revenue out of the marts because of a catalogue lag. So the record loads and one row
per record lands in ``raw_audit.reference_flags`` with the load that brought it. (A store a
POS database does not know is different: that is checked, and quarantined, at extract time.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dlt

log = logging.getLogger(__name__)

REFERENCE_FLAGS_TABLE = "reference_flags"
REFERENCE_FLAGS_COLUMNS = {
    "load_id": {"data_type": "text", "nullable": False},
    "source_system": {"data_type": "text", "nullable": False},
    "resource": {"data_type": "text", "nullable": False},
    "record_key": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "flagged_at": {"data_type": "timestamp", "nullable": False},
}

CATALOGUE = "raw_ecommerce.products"


@dataclass(frozen=True)
class SkuCheck:
    system: str
    resource: str
    # (record_key, sku) of the resource's rows written by one load (`%s` is the load id).
    rows_sql: str


SKU_CHECKS = (
    SkuCheck(
        "pos",
        "transaction_lines",
        "select transaction_id || '/' || line_no, sku from raw_pos.transaction_lines "
        "where _dlt_load_id = %s",
    ),
    SkuCheck(
        "pos", "returns", "select return_id, sku from raw_pos.returns where _dlt_load_id = %s"
    ),
    SkuCheck(
        "ecommerce",
        "orders",
        "select o.id || '/' || l.id, l.sku from raw_ecommerce.orders__line_items l "
        "join raw_ecommerce.orders o on o._dlt_id = l._dlt_parent_id where o._dlt_load_id = %s",
    ),
    SkuCheck(
        "clickstream",
        "events",
        "select event_id, sku from raw_clickstream.events where _dlt_load_id = %s",
    ),
)


def _catalogue_exists(client: Any) -> bool:
    schema, table = CATALOGUE.split(".")
    rows = client.execute_sql(
        "select count(*) from information_schema.tables where table_schema = %s "
        "and table_name = %s",
        schema,
        table,
    )
    return bool(rows and rows[0][0])


def unknown_skus(system: str, pipeline: dlt.Pipeline, load_id: str | None) -> list[dict[str, Any]]:
    """Flags for the records of ``load_id`` whose SKU is not in the e-commerce catalogue."""
    checks = [c for c in SKU_CHECKS if c.system == system]
    if not checks or load_id is None:
        return []
    flagged_at = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    with pipeline.sql_client() as client:
        if not _catalogue_exists(client):
            log.info("No %s loaded yet: SKU reference checks of %s skipped", CATALOGUE, system)
            return []
        for check in checks:
            sql = (
                f"select * from ({check.rows_sql}) r(record_key, sku) where r.sku is not null "
                f"and r.sku not in (select sku from {CATALOGUE} where sku is not null)"
            )
            try:
                found = client.execute_sql(sql, load_id)
            except Exception as exc:  # the table is not in the warehouse yet
                log.debug("reference check %s.%s skipped: %s", system, check.resource, exc)
                continue
            for key, sku in found or []:
                rows.append(
                    {
                        "load_id": load_id,
                        "source_system": system,
                        "resource": check.resource,
                        "record_key": str(key),
                        "reason": f"unknown SKU {sku!r}: not in {CATALOGUE}",
                        "flagged_at": flagged_at,
                    }
                )
    if rows:
        log.warning(
            "%s: %d loaded record(s) name a SKU the catalogue does not know; "
            "see raw_audit.%s (load %s)",
            system,
            len(rows),
            REFERENCE_FLAGS_TABLE,
            load_id,
        )
    return rows
