"""The POS key guard trusts a key the database enforces (its primary key) and still checks
every key of a table without one (a load through such a table: test_upsert_keys.py)."""

from __future__ import annotations

import logging
import shutil
import sqlite3

import pyarrow as pa
import pytest
import sqlalchemy as sa

import ingestion.load_keys as load_keys
from ingestion.pipelines import run_system
from ingestion.pos.declared_keys import DeclaredKeys, declared_key_adapter
from ingestion.pos.settings import CONTRACTS


def _reflected(tmp_path, ddl: str) -> sa.Table:
    path = tmp_path / "pos.sqlite"
    with sqlite3.connect(path) as con:
        con.execute(ddl)
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        return sa.Table("inventory_daily", sa.MetaData(), autoload_with=engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("ddl", "enforced"),
    [
        (
            "create table inventory_daily (snapshot_date date, store_id text, sku text, "
            "on_hand integer, updated_at timestamp, primary key (snapshot_date, store_id, sku))",
            True,
        ),
        (
            "create table inventory_daily (snapshot_date date, store_id text, sku text, "
            "on_hand integer, updated_at timestamp)",
            False,
        ),
        (
            "create table inventory_daily (snapshot_date date, store_id text, sku text, "
            "on_hand integer, updated_at timestamp, primary key (store_id, sku))",
            False,
        ),
    ],
    ids=["contract key", "no primary key", "another primary key"],
)
def test_repeated_keys_pass_only_where_the_database_declares_the_contract_key(
    tmp_path, monkeypatch, ddl, enforced
):
    monkeypatch.setattr(load_keys, "current_load_id", lambda: "load-1")
    contract = CONTRACTS["inventory_daily"]
    verdicts: dict[str, bool] = {}
    declared_key_adapter(CONTRACTS, verdicts)(_reflected(tmp_path, ddl))
    assert verdicts == {"inventory_daily": enforced}

    guard = DeclaredKeys(contract, verdicts)
    chunk = pa.table(
        {
            "snapshot_date": pa.array(["2025-09-01"] * 2).cast(pa.date32()),
            "store_id": ["ST01", "ST01"],
            "sku": ["SKU-1", "SKU-1"],
            "on_hand": [3, 4],
        }
    )
    kept, rejected = guard.split(chunk)
    assert (kept.num_rows, len(rejected)) == ((2, 0) if enforced else (1, 1))


def test_a_pos_load_checks_the_keys_of_the_tables_without_a_primary_key_only(
    world, tmp_path, caplog
):
    """The source asks the database at extract time: here `returns` lost its primary key."""
    (tmp_path / "pos").mkdir()
    shutil.copy(world / "pos" / "pos.sqlite", tmp_path / "pos" / "pos.sqlite")
    with sqlite3.connect(tmp_path / "pos" / "pos.sqlite") as con:
        (ddl,) = con.execute("select sql from sqlite_master where name = 'returns'").fetchone()
        con.execute("alter table returns rename to returns_with_key")
        con.execute(ddl.replace("VARCHAR(32) PRIMARY KEY", "VARCHAR(32)"))
        con.execute("insert into returns select * from returns_with_key")
        con.execute("drop table returns_with_key")
        (stored,) = con.execute("select count(*) from returns").fetchone()
    caplog.set_level(logging.INFO, logger="ingestion.pos.declared_keys")
    rows = run_system("pos", tmp_path, tmp_path / "warehouse.duckdb")
    unchecked = [
        r.getMessage().split(":")[0]
        for r in caplog.records
        if r.name == "ingestion.pos.declared_keys"
    ]
    assert unchecked == ["returns"]
    (row,) = [r for r in rows if r["resource"] == "returns"]
    assert (row["received"], row["loaded"], row["quarantined"]) == (stored, stored, 0)
