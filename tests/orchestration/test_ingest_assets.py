"""The Dagster ingestion assets load as ``run_system`` does (``pipelines.system_load``): a
first load appends into the empty raw tables and later loads merge, the run is audited
(reconciliation and new upstream columns), and a killed run's pending package is loaded
first without leaving a key twice. Through real materialisations of the POS assets."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dlt import DagsterDltResource

from ingestion.load_keys import append_into_empty_tables
from ingestion.pipelines import RESOURCES, make_pipeline, make_source
from orchestration.lib.source_systems import SourceSystemsResource

KEYS = {
    "stores": "store_id",
    "transactions": "transaction_id",
    "transaction_lines": "transaction_id, line_no",
    "returns": "return_id",
    "pickups": "pickup_id",
    "inventory_daily": "snapshot_date, store_id, sku",
}


@pytest.fixture
def pos_sources(sources_dir, tmp_path, monkeypatch) -> Path:
    """A data dir of its own, with a copy of the session world's POS database."""
    monkeypatch.setenv("OMNI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    sources = tmp_path / "sources"
    (sources / "pos").mkdir(parents=True)
    shutil.copy(sources_dir / "pos" / "pos.sqlite", sources / "pos" / "pos.sqlite")
    return sources


def _materialize_pos(sources: Path) -> dg.ExecuteInProcessResult:
    from orchestration.defs.ingestion.assets import ingestion_assets

    job = dg.define_asset_job("ingest_pos_only", selection=dg.AssetSelection.groups("raw_pos"))
    defs = dg.Definitions(
        assets=ingestion_assets["pos"],
        jobs=[job],
        resources={
            "dlt": DagsterDltResource(),
            "source_systems": SourceSystemsResource(sources_dir=str(sources)),
        },
    )
    result = defs.resolve_job_def("ingest_pos_only").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    return result


def _stored(sources: Path) -> dict[str, int]:
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in KEYS}


def _loaded(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Rows and distinct keys of every raw POS table."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            table: con.execute(
                f"select count(*), count(distinct ({keys})) from raw_pos.{table}"
            ).fetchone()
            for table, keys in KEYS.items()
        }


def _dispositions(warehouse: Path) -> dict[str, tuple[str, str | None]]:
    schema = make_pipeline("pos", warehouse).default_schema
    return {
        name: (
            schema.get_table(name)["write_disposition"],
            schema.get_table(name).get("x-merge-strategy"),
        )
        for name in RESOURCES["pos"]
    }


def test_a_first_materialisation_appends_is_audited_and_the_next_merges(pos_sources):
    warehouse = pos_sources.parent / "warehouse.duckdb"
    _materialize_pos(pos_sources)
    stored = _stored(pos_sources)
    assert _loaded(warehouse) == {t: (n, n) for t, n in stored.items()}
    assert {d for d, _ in _dispositions(warehouse).values()} == {"append"}

    with sqlite3.connect(pos_sources / "pos" / "pos.sqlite") as con:
        con.execute("alter table transactions add column promo_code text")
        (ticket,) = con.execute(
            "select transaction_id from transactions order by updated_at desc limit 1"
        ).fetchone()
        con.execute(
            "update transactions set promo_code = 'WELCOME10' where transaction_id = ?", [ticket]
        )
    _materialize_pos(pos_sources)
    assert _loaded(warehouse) == {t: (n, n) for t, n in stored.items()}
    # A table still without rows (no returns in this small world) appends until it has some.
    merged = {t for t, d in _dispositions(warehouse).items() if d == ("merge", "upsert")}
    assert merged == {t for t, n in stored.items() if n}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        promo = con.execute(
            "select promo_code from raw_pos.transactions where transaction_id = ?", [ticket]
        ).fetchall()
        changes = con.execute(
            "select table_name, column_name from raw_audit.schema_changes "
            "where source_system = 'pos'"
        ).fetchall()
        audits = con.execute(
            "select count(distinct load_id), count(*), "
            "count(*) filter (where received <> loaded + quarantined) "
            "from raw_audit.load_reconciliation where source_system = 'pos'"
        ).fetchone()
    assert promo == [("WELCOME10",)]
    assert changes == [("transactions", "promo_code")]
    # Two runs of two assets (reference, events): one load each, every resource reconciled.
    assert audits == (4, 2 * len(RESOURCES["pos"]), 0)


def test_a_killed_runs_committed_copy_is_not_loaded_twice(pos_sources):
    """A run killed after its copy of the tickets committed, before dlt recorded the job as
    done: the next materialisation loads the pending package first, which copies the same
    file again, and keeps one row per key."""
    warehouse = pos_sources.parent / "warehouse.duckdb"
    pipeline = make_pipeline("pos", warehouse)
    source = make_source("pos", pos_sources)
    append_into_empty_tables(pipeline, source)
    pipeline.extract(source)
    pipeline.normalize()
    (package,) = pipeline.list_normalized_load_packages()
    jobs = pipeline.get_load_package_info(package).jobs["new_jobs"]
    (tickets_file,) = [j.file_path for j in jobs if j.job_file_info.table_name == "transactions"]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw_pos")
        con.execute(f"create table raw_pos.transactions as from read_parquet('{tickets_file}')")

    _materialize_pos(pos_sources)
    stored = _stored(pos_sources)
    assert _loaded(warehouse) == {t: (n, n) for t, n in stored.items()}
    assert not make_pipeline("pos", warehouse).has_pending_data
