"""A system run opens the warehouse once: its pipeline, its audit and its checks share one
connection (``destination.warehouse_connection``), and the audit is the same as ever."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from ingest_helpers import query, truth_counts

from ingestion.pipelines import run_system


@pytest.fixture
def warehouse_opens(monkeypatch, tmp_path) -> tuple[Path, list[Path]]:
    """A warehouse path, and every ``duckdb.connect`` of that file made in this process."""
    warehouse = tmp_path / "warehouse.duckdb"
    opened: list[Path] = []
    connect = duckdb.connect

    def counted(database: str = ":memory:", *args, **kwargs):
        if Path(str(database)).resolve() == warehouse.resolve():
            opened.append(Path(str(database)))
        return connect(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counted)
    return warehouse, opened


@pytest.mark.parametrize("system", ["marketing", "pos"])
def test_a_run_opens_the_warehouse_once_and_audits_every_record(world, warehouse_opens, system):
    warehouse, opened = warehouse_opens
    expected = truth_counts(world)
    for run in (1, 2):  # a first load (append) and a rerun (merge)
        opened.clear()
        rows = run_system(system, world, warehouse)
        # dlt's steps, the audit pipeline, the SKU and empty-table checks: one open.
        assert len(opened) == 1, f"run {run} opened the warehouse {len(opened)} times"
        audited = query(
            warehouse,
            "select resource, received, loaded, quarantined from raw_audit.load_reconciliation "
            "where source_system = ? and load_id = ? order by resource",
            system,
            rows[0]["load_id"],
        )
        assert audited == sorted(
            (r["resource"], r["received"], r["loaded"], r["quarantined"]) for r in rows
        )
    for resource in {r["resource"] for r in rows}:
        (count,) = query(warehouse, f"select count(*) from raw_{system}.{resource}")[0]
        assert count == expected[(system, resource)], resource


def test_the_warehouse_is_released_after_a_run(world, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    run_system("marketing", world, warehouse)
    # A read-only open of a file this process still held read-write would be refused.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (spend,) = con.execute("select count(*) from raw_marketing.spend").fetchone()
    assert spend == truth_counts(world)[("marketing", "spend")]
