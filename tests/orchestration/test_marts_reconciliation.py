"""Staging → marts reconciliation on the real warehouse of the shared first run: it counts
what users count (every ticket and online order, every person record), and a lost or
leftover row is found and named."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from orchestration.lib.run_checks import check_evaluations


def _staged_orders(warehouse) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            "pos": con.execute("select count(*) from raw_pos.transactions").fetchone()[0],
            "ecommerce": con.execute("select count(*) from raw_ecommerce.orders").fetchone()[0],
        }
    finally:
        con.close()


def test_clean_run_accounts_for_every_order_and_person_record(first_run, data_dir):
    from orchestration.lib.runner import local_instance

    checks = {
        e.check_name: e
        for e in check_evaluations(local_instance(), first_run.run_id)
        if e.check_name.startswith("marts_reconciliation_")
    }
    assert {name: e.passed for name, e in checks.items()} == {
        "marts_reconciliation_orders": True,
        "marts_reconciliation_identities": True,
    }
    orders = checks["marts_reconciliation_orders"].metadata["per_source"].value
    # Every ticket and online order the sources sent, straight from the raw layer.
    assert {s: c["in_marts"] for s, c in orders.items()} == _staged_orders(
        data_dir / "warehouse.duckdb"
    )
    people = checks["marts_reconciliation_identities"].metadata["per_source"].value
    assert people["crm.contacts"]["in_marts"] == people["crm.contacts"]["in_staging"] > 0
    assert all(c["missing"] == 0 for c in people.values())


@pytest.fixture
def damaged_warehouse(first_run, data_dir, tmp_path, monkeypatch):
    target = tmp_path / "data"
    target.mkdir()
    shutil.copy(data_dir / "warehouse.duckdb", target / "warehouse.duckdb")
    monkeypatch.setenv("OMNI_DATA_DIR", str(target))
    return target / "warehouse.duckdb"


def test_a_lost_and_a_leftover_order_are_both_named(damaged_warehouse):
    from orchestration.defs.monitoring.marts_reconciliation import ORDERS_SQL, describe, reconcile

    con = duckdb.connect(str(damaged_warehouse))
    try:
        (lost,) = con.execute(
            "select min(order_id) from marts.fct_orders where source_system = 'pos'"
        ).fetchone()
        con.execute("delete from marts.fct_orders where order_id = ?", [lost])
        # An online order left behind after its source record is gone (a stale increment).
        con.execute(
            "insert into marts.fct_orders by name select 'ZZ-GONE' as order_id, * exclude "
            "(order_id) from marts.fct_orders where source_system = 'ecommerce' limit 1"
        )
    finally:
        con.close()

    counts = {c.source: c for c in reconcile(ORDERS_SQL)}

    assert (counts["pos"].missing, counts["pos"].missing_sample) == (1, [lost])
    assert counts["pos"].in_marts == counts["pos"].in_staging - 1
    assert (counts["ecommerce"].unexpected, counts["ecommerce"].unexpected_sample) == (
        1,
        ["ZZ-GONE"],
    )
    text = describe(list(counts.values()), "orders", "marts.fct_orders")
    assert text.startswith("1 of ") and "missing from marts.fct_orders" in text
    assert "1 in marts.fct_orders but no longer in staging" in text
    assert f"pos missing e.g. {lost}" in text


def test_a_lost_identity_record_is_named_with_its_source(damaged_warehouse):
    from orchestration.defs.monitoring.marts_reconciliation import identities_sql, reconcile

    con = duckdb.connect(str(damaged_warehouse))
    try:
        (lost,) = con.execute(
            "select min(source_record_id) from marts.customer_identities "
            "where source_system = 'pos' and source_entity = 'transactions'"
        ).fetchone()
        con.execute(
            "delete from marts.customer_identities where source_entity = 'transactions' "
            "and source_record_id = ?",
            [lost],
        )
    finally:
        con.close()

    counts = {c.source: c for c in reconcile(identities_sql())}

    assert counts["pos.transactions"].missing_sample == [lost]
    assert sum(c.missing for c in counts.values()) == 1
