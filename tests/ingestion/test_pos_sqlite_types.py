"""SQLite lets any value into any column: a value that is not of its column's type is
quarantined with its row (the rest of its chunk loads), never fatal to the POS load; and a
first load appends into the empty raw tables, later loads merge."""

from __future__ import annotations

import shutil
import sqlite3
from decimal import Decimal

import duckdb
import pytest
from ingest_helpers import query

from ingestion.load_keys import append_into_empty_tables, drop_restaged_duplicates
from ingestion.pipelines import (
    RESOURCES,
    default_pipelines_dir,
    make_pipeline,
    make_source,
    run_system,
)

# (table, SQL breaking one stored value, the quarantine reason it must get)
BREAKS = [
    (
        "transaction_lines",
        "update transaction_lines set quantity = 'abc' where rowid = 5",
        "field `quantity`: expected an integer, got b'abc'",
    ),
    (
        "transaction_lines",
        "update transaction_lines set line_amount = 1.005 where rowid = 8",
        "field `line_amount`: expected an amount, got b'1.005'",
    ),
    (
        "transactions",
        "update transactions set total_amount = x'00ff' where rowid = 4",
        "field `total_amount`: expected an amount, got b'\\x00\\xff'",
    ),
    (
        "transactions",
        "update transactions set occurred_at = 'yesterday' where rowid = 3",
        "field `occurred_at`: expected an ISO 8601 timestamp, got b'yesterday'",
    ),
    (
        "returns",
        "update returns set updated_at = '2025-13-45 99:00:00' where rowid = 1",
        "field `updated_at`: expected an ISO 8601 timestamp, got b'2025-13-45 99:00:00'",
    ),
    (
        "stores",
        # Python's date parser takes 20200101; the loader's exact cast does not.
        "update stores set opened_on = 20200101 where rowid = 2",
        "field `opened_on`: expected a YYYY-MM-DD date, got b'20200101'",
    ),
    (
        "inventory_daily",
        "update inventory_daily set on_hand = 3.5 where rowid = 9",
        "field `on_hand`: expected an integer, got b'3.5'",
    ),
]


KEYS = {
    "transactions": "transaction_id",
    "transaction_lines": "transaction_id, line_no",
    "inventory_daily": "snapshot_date, store_id, sku",
}


@pytest.fixture(scope="module")
def broken(world, tmp_path_factory):
    sources = tmp_path_factory.mktemp("pos_types")
    (sources / "pos").mkdir()
    shutil.copy(world / "pos" / "pos.sqlite", sources / "pos" / "pos.sqlite")
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        stored = {
            table: con.execute(f"select count(*) from {table}").fetchone()[0]
            for table in {t for t, _, _ in BREAKS}
        }
        for _, sql, _ in BREAKS:
            assert con.execute(sql).rowcount == 1
    warehouse = sources / "warehouse.duckdb"
    return warehouse, run_system("pos", sources, warehouse), stored


def test_values_of_another_type_are_quarantined_with_their_reason(broken):
    warehouse, _, _ = broken
    reasons = sorted(
        query(warehouse, "select resource, reason from raw_pos._quarantine order by all")
    )
    assert reasons == sorted((table, f"contract: {reason}") for table, _, reason in BREAKS)


def test_the_rest_of_each_table_loads_and_reconciles(broken):
    warehouse, rows, stored = broken
    for table, total in stored.items():
        bad = sum(1 for t, _, _ in BREAKS if t == table)
        (row,) = [r for r in rows if r["resource"] == table]
        assert (row["received"], row["loaded"], row["quarantined"]) == (total, total - bad, bad)
        (loaded,) = query(warehouse, f"select count(*) from raw_pos.{table}")[0]
        assert loaded == total - bad
    # Typed as the contract says; amounts exact (SQLite stores them as floats).
    types = dict(
        query(
            warehouse,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_pos' and table_name = 'transaction_lines'",
        )
    )
    assert types["quantity"] == "BIGINT"
    assert types["line_amount"] == "DECIMAL(18,2)"
    assert "_dlt_id" not in types
    with sqlite3.connect(warehouse.parent / "pos" / "pos.sqlite") as con:
        key, line_no, amount = con.execute(
            "select transaction_id, line_no, line_amount from transaction_lines where rowid = 1"
        ).fetchone()
    loaded = query(
        warehouse,
        "select line_amount from raw_pos.transaction_lines where transaction_id = ? "
        "and line_no = ?",
        key,
        line_no,
    )
    assert loaded == [(Decimal(str(amount)),)]


def test_rows_appended_twice_by_a_resumed_load_are_removed(broken, tmp_path):
    """A first load appends: a copy committed before dlt recorded its job as done, copied
    again when the package resumes, is repaired as upsert's re-staged copies are."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(broken[0], warehouse)
    shutil.copytree(default_pipelines_dir(broken[0]), default_pipelines_dir(warehouse))
    with duckdb.connect(str(warehouse)) as con:
        ((load_id, tickets),) = con.execute(
            "select any_value(_dlt_load_id), count(*) from raw_pos.transactions"
        ).fetchall()
        con.execute("insert into raw_pos.transactions select * from raw_pos.transactions")
    pipeline = make_pipeline("pos", warehouse)
    assert pipeline.default_schema.get_table("transactions")["write_disposition"] == "append"
    assert drop_restaged_duplicates(pipeline, [load_id]) == tickets
    assert query(
        warehouse, "select count(distinct transaction_id), count(*) from raw_pos.transactions"
    ) == [(tickets, tickets)]


def test_tables_with_rows_are_merged_into_even_without_local_pipeline_state(
    broken, world, tmp_path
):
    """The emptiness check asks the warehouse, not dlt's local state: a warehouse copied to a
    new place (dlt restores the state from it) must not be appended into."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(broken[0], warehouse)
    pipeline = make_pipeline("pos", warehouse)
    assert pipeline.default_schema_name is None
    assert append_into_empty_tables(pipeline, make_source("pos", world)) == []
    empty = make_pipeline("pos", tmp_path / "new" / "warehouse.duckdb")
    assert sorted(append_into_empty_tables(empty, make_source("pos", world))) == sorted(
        RESOURCES["pos"]
    )


def test_a_first_load_appends_and_the_next_one_merges(broken):
    warehouse, _, _ = broken
    pipeline = make_pipeline("pos", warehouse)
    assert pipeline.default_schema.get_table("transactions")["write_disposition"] == "append"
    sources = warehouse.parent
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        (ticket,) = con.execute(
            "select transaction_id from transactions order by updated_at desc limit 1"
        ).fetchone()
        con.execute(
            "update transactions set staff_id = 'reissued' where transaction_id = ?", [ticket]
        )
    run_system("pos", sources, warehouse)
    table = make_pipeline("pos", warehouse).default_schema.get_table("transactions")
    assert (table["write_disposition"], table["x-merge-strategy"]) == ("merge", "upsert")
    staff = query(
        warehouse, "select staff_id from raw_pos.transactions where transaction_id = ?", ticket
    )
    assert staff == [("reissued",)]
    for table, keys in KEYS.items():
        total, distinct = query(
            warehouse, f"select count(*), count(distinct ({keys})) from raw_pos.{table}"
        )[0]
        assert total == distinct
