"""Schema evolution without surprises: columns a source starts sending are loaded and reported.

dlt adds a column it has not seen to the raw table on the fly; this module turns the schema
update of each load package into one audit row (and one warning) per column that is not in
the resource's contract, so a renamed or new upstream field is noticed the night it appears.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dlt

from ingestion.contracts import Contract
from ingestion.quarantine import QUARANTINE_COLUMNS, QUARANTINE_TABLE

log = logging.getLogger(__name__)

SCHEMA_CHANGES_TABLE = "schema_changes"
SCHEMA_CHANGES_COLUMNS = {
    "load_id": {"data_type": "text", "nullable": False},
    "source_system": {"data_type": "text", "nullable": False},
    "table_name": {"data_type": "text", "nullable": False},
    "column_name": {"data_type": "text", "nullable": False},
    "data_type": {"data_type": "text"},
    "detected_at": {"data_type": "timestamp", "nullable": False},
}


def _expected_columns(contracts: Mapping[str, Contract]) -> dict[str, set[str]]:
    """Contract columns per raw table, nested child tables included."""
    expected: dict[str, set[str]] = {QUARANTINE_TABLE: set(QUARANTINE_COLUMNS)}
    pending = list(contracts.values())
    while pending:
        contract = pending.pop()
        expected[contract.resource] = set(contract.column_names) | set(contract.nested)
        pending.extend(contract.nested.values())
    return expected


def new_columns(
    system: str, pipeline: dlt.Pipeline, contracts: Mapping[str, Contract]
) -> list[dict[str, Any]]:
    """One row per column outside the contract that the pipeline's last load added."""
    trace = pipeline.last_trace
    info = trace.last_load_info if trace else None
    if info is None:
        return []
    expected = _expected_columns(contracts)
    detected_at = datetime.now(UTC)
    rows = []
    for package in info.load_packages:
        for table_name, table in (package.schema_update or {}).items():
            if table_name not in expected:
                continue  # dlt's own tables and file listings
            for column_name, column in table.get("columns", {}).items():
                if column_name.startswith("_dlt") or column_name in expected[table_name]:
                    continue
                rows.append(
                    {
                        "load_id": package.load_id,
                        "source_system": system,
                        "table_name": table_name,
                        "column_name": column_name,
                        "data_type": column.get("data_type"),
                        "detected_at": detected_at,
                    }
                )
    for row in rows:
        log.warning(
            "%s.%s: new upstream column `%s` (%s) loaded in load %s; it is not in the "
            "contract (ingestion/%s/settings.py), so nothing downstream reads it yet",
            system,
            row["table_name"],
            row["column_name"],
            row["data_type"],
            row["load_id"],
            system,
        )
    return rows
