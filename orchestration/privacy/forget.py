"""One erasure request end to end: resolve, ledger first, then warehouse and published file.

Order matters: the hashes go into the ledger before any row is deleted, so a request that
dies half-way leaves the person either still visible (repeat the request) or erased, but
never erased-then-reloaded by the next run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingestion import paths
from ingestion.pipelines import default_pipelines_dir
from ingestion.privacy import append_hashes, append_request, ledger_dir, new_erasure
from orchestration.privacy.erase import (
    erase_published,
    erase_warehouse,
    plan_erasure,
    purge_loaded_packages,
    total,
)
from orchestration.privacy.resolve import ForgetError, Person, resolve

log = logging.getLogger(__name__)

EXIT_BUSY = 1


class WarehouseBusy(ForgetError):
    exit_code = EXIT_BUSY


@dataclass
class ForgetResult:
    person: Person
    dry_run: bool
    records_blocked: int
    identifiers_blocked: int
    warehouse_rows: dict[str, int] = field(default_factory=dict)
    published_rows: dict[str, int] = field(default_factory=dict)
    raw_rows_planned: dict[str, int] = field(default_factory=dict)
    package_files_purged: int = 0
    ledger: Path | None = None
    seconds: float = 0.0


def _connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if not warehouse.exists():
        raise ForgetError(f"no warehouse at {warehouse}: nothing to erase (run `omni run` first)")
    try:
        return duckdb.connect(str(warehouse))
    except duckdb.IOException as exc:
        raise WarehouseBusy(
            f"the warehouse {warehouse} is open for writing elsewhere (a run in progress?); "
            f"nothing erased, try again when it has finished ({exc})"
        ) from exc


def forget(
    email: str | None = None,
    phone: str | None = None,
    customer_id: str | None = None,
    dry_run: bool = False,
) -> ForgetResult:
    """Erase the one person the request names; ``ForgetError`` (nothing changed) if it names
    nobody or more than one person. ``dry_run`` resolves and counts without changing
    anything."""
    started = time.monotonic()
    warehouse = paths.warehouse_path()
    con = _connect(warehouse)
    try:
        person = resolve(con, email=email, phone=phone, customer_id=customer_id)
        log.info(
            "Erasure request: customer %s, %d source record(s) in %s",
            person.customer_id,
            len(person.records),
            ", ".join(person.systems) or "no system",
        )
        plan = plan_erasure(con, person)
        result = ForgetResult(
            person,
            dry_run,
            len(plan.blocklist.records),
            len(plan.blocklist.identifiers),
            raw_rows_planned={
                f"{schema}.{table}": rows.num_rows
                for (schema, table), rows in plan.raw_rows.items()
                if rows.num_rows
            },
        )
        if dry_run:
            result.seconds = time.monotonic() - started
            return result
        erasure = new_erasure(person.customer_id, plan.blocklist)
        result.ledger = append_hashes(erasure).parent
        log.info(
            "Ledger %s: +%d record keys, +%d identifiers (SHA-256) suppressed from now on",
            result.ledger,
            result.records_blocked,
            result.identifiers_blocked,
        )
        result.warehouse_rows = erase_warehouse(con, plan)
        log.info(
            "Warehouse %s: %d rows deleted from %d tables",
            warehouse,
            total(result.warehouse_rows),
            len(result.warehouse_rows),
        )
    finally:
        con.close()
    published = paths.published_path()
    result.published_rows = erase_published(published, plan)
    log.info("Published %s: rebuilt without %d rows", published, total(result.published_rows))
    result.package_files_purged = purge_loaded_packages(default_pipelines_dir(warehouse))
    counts = {f"warehouse.{k}": v for k, v in result.warehouse_rows.items()}
    counts |= {f"published.{k}": v for k, v in result.published_rows.items()}
    append_request(erasure, counts)
    result.seconds = time.monotonic() - started
    return result


def format_result(result: ForgetResult) -> str:
    """What ``omni forget`` prints: counts and places, never an identifier's value."""
    person = result.person
    kept = len(person.shared())
    formerly = ", ".join(person.previous_customer_ids)
    lines = [
        f"{'Would erase' if result.dry_run else 'Erased'} customer {person.customer_id}"
        + (f" (formerly {formerly})" if formerly else "")
        + f": {len(person.records)} source record(s) in {', '.join(person.systems) or '-'}.",
    ]
    if result.dry_run:
        lines.append("Raw rows that would be deleted:")
        lines += [f"  {t}: {n}" for t, n in sorted(result.raw_rows_planned.items())]
        lines.append("Nothing was changed (--dry-run).")
        return "\n".join(lines)
    for title, counts in (
        ("Warehouse", result.warehouse_rows),
        ("Published marts", result.published_rows),
    ):
        lines.append(f"{title}: {total(counts)} row(s) deleted")
        lines += [f"  {t}: {n}" for t, n in sorted(counts.items())]
    lines.append(
        f"Ledger {result.ledger or ledger_dir()}: {result.records_blocked} record keys and "
        f"{result.identifiers_blocked} identifiers (SHA-256 only) are suppressed on every "
        "future load, full refreshes included."
    )
    if kept:
        lines.append(
            f"{kept} identifier(s) of this customer are shared with other customers (household, "
            "store phone): their records are erased but the identifier itself is not blocked."
        )
    if result.package_files_purged:
        lines.append(
            f"Deleted {result.package_files_purged} data file(s) of already-loaded dlt packages."
        )
    lines.append(
        "KPI marts hold no person rows; they are recomputed without this customer by the next "
        f"run. Done in {result.seconds:.1f}s."
    )
    return "\n".join(lines)
