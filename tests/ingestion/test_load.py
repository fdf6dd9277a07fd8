"""Every system loads the sandbox completely, once, and re-running adds nothing."""

from __future__ import annotations

import pytest
from ingest_helpers import ALL, distinct_keys, query, truth_counts

from ingestion.pipelines import dataset_name


@pytest.mark.parametrize(("system", "resource"), ALL)
def test_raw_rows_equal_the_sandbox_counts(first_load, system, resource):
    expected = truth_counts(first_load.sources)[(system, resource)]
    rows, keys = distinct_keys(first_load.warehouse, system, resource)
    assert expected > 0, f"the sandbox world has no {system}.{resource}"
    assert (rows, keys) == (expected, expected)


def test_every_run_reconciles_and_nothing_is_quarantined(first_load):
    assert {(r["source_system"], r["resource"]) for r in first_load.rows} == set(ALL)
    for row in first_load.rows:
        assert row["received"] == row["loaded"] + row["quarantined"], row
        assert row["quarantined"] == 0, row
    audit = query(
        first_load.warehouse,
        "select count(*), count(*) filter (where received <> loaded + quarantined) "
        "from raw_audit.load_reconciliation",
    )[0]
    assert audit[0] >= len(ALL) and audit[1] == 0


def test_order_lines_and_refunds_are_child_tables(first_load):
    orders, lines, orphans = query(
        first_load.warehouse,
        "select (select count(*) from raw_ecommerce.orders), count(*), "
        "count(*) filter (where o._dlt_id is null) from raw_ecommerce.orders__line_items l "
        "left join raw_ecommerce.orders o on o._dlt_id = l._dlt_parent_id",
    )[0]
    assert lines >= orders > 0 and orphans == 0
    expected = truth_counts(first_load.sources)
    if ("ecommerce", "orders__line_items") in expected:
        assert lines == expected[("ecommerce", "orders__line_items")]


def test_pos_timestamps_stay_local_and_naive(first_load):
    (data_type,) = query(
        first_load.warehouse,
        "select data_type from information_schema.columns where table_schema = 'raw_pos' "
        "and table_name = 'transactions' and column_name = 'occurred_at'",
    )[0]
    assert data_type == "TIMESTAMP"


def test_second_run_adds_nothing_and_duplicates_nothing(first_load, second_load):
    assert second_load.tables == first_load.tables
    by_system: dict[str, int] = {}
    for row in second_load.rows:
        assert row["received"] == row["loaded"] + row["quarantined"], row
        by_system[row["source_system"]] = by_system.get(row["source_system"], 0) + row["received"]
    # Unchanged files are not even read again; the APIs only resend the lag window.
    assert by_system["clickstream"] == by_system["messaging"] == by_system["marketing"] == 0
    first = {r["source_system"]: 0 for r in first_load.rows}
    for r in first_load.rows:
        first[r["source_system"]] += r["received"]
    for system in ("crm", "ecommerce", "pos"):
        assert by_system[system] < first[system]
    for system, resource in ALL:
        rows, keys = distinct_keys(second_load.warehouse, system, resource)
        assert rows == keys, f"duplicates in {dataset_name(system)}.{resource}"


@pytest.mark.parametrize("table", ["raw_crm.contacts", "raw_ecommerce.customers"])
def test_rest_rows_keep_a_unique_dlt_row_id(first_load, table):
    # Flat REST pages load as Arrow tables; they still carry dlt's row id on every row.
    rows, ids, nulls = query(
        first_load.warehouse,
        f"select count(*), count(distinct _dlt_id), count(*) - count(_dlt_id) from {table}",
    )[0]
    assert rows > 0 and ids == rows and nulls == 0
