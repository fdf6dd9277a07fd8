"""The tpcds profile fills the retailer's systems from dsdgen without losing an order."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from sandbox_helpers import docs, kpis, pos, truth

from ingestion.sandbox import generate
from ingestion.sandbox.tpcds import extension_path

SF = 0.01


@pytest.fixture(scope="session")
def tpcds_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("tpcds") / "world"
    generate(out, customers=1, days=1, seed=1, start=date(2025, 9, 1), profile="tpcds", scale=SF)
    return out


@pytest.fixture(scope="session")
def reference():
    """TPC-DS's own counts, computed straight from dsdgen's tables in a separate DuckDB."""
    con = duckdb.connect()
    con.execute(f"LOAD '{extension_path().as_posix()}'")
    con.execute(f"CALL dsdgen(sf = {SF})")
    row = con.execute(
        "SELECT (SELECT count(DISTINCT ss_ticket_number) FROM store_sales),"
        " (SELECT count(DISTINCT ws_order_number) FROM web_sales),"
        " (SELECT count(DISTINCT cs_order_number) FROM catalog_sales),"
        " (SELECT count(*) FROM customer),"
        " (SELECT round(sum(ss_ext_sales_price), 2) FROM store_sales),"
        " (SELECT count(*) FROM store_sales)"
    ).fetchone()
    emails = {e for (e,) in con.execute("SELECT c_email_address FROM customer").fetchall() if e}
    con.close()
    keys = ("tickets", "web_orders", "catalog_orders", "customers", "store_gross", "lines")
    return {**dict(zip(keys, row, strict=True)), "emails": emails}


def test_orders_per_channel_equal_tpcds_counts(tpcds_world, reference):
    orders = docs(tpcds_world, "ecommerce", "orders")
    by_source = {s: sum(o["source_name"] == s for o in orders) for s in ("web", "phone")}
    assert len(pos(tpcds_world, "transactions")) == reference["tickets"]
    assert by_source["web"] == reference["web_orders"]
    assert by_source["phone"] == reference["catalog_orders"]
    assert len(pos(tpcds_world, "transaction_lines")) == reference["lines"]
    channels = kpis(tpcds_world)["revenue_by_channel"]
    assert channels["store"]["orders"] == reference["tickets"]
    assert channels["store"]["gross_revenue"] == pytest.approx(
        float(reference["store_gross"]), abs=0.05
    )
    assert pos(tpcds_world, "transactions")["total_amount"].sum() == pytest.approx(
        float(reference["store_gross"]), abs=0.05
    )


def test_one_person_per_tpcds_customer(tpcds_world, reference):
    contacts = docs(tpcds_world, "crm", "contacts")
    assert len(contacts) == reference["customers"]
    assert {c["email"] for c in contacts if c["email"]} == reference["emails"]
    t = truth(tpcds_world)
    assert t["person_id"].nunique() == reference["customers"]
    assert not t.duplicated(["source_system", "source_entity", "source_record_id"]).any()
    # every order of a known customer belongs to that customer's person
    orders = {o["id"]: o["customer_id"] for o in docs(tpcds_world, "ecommerce", "orders")}
    owners = t[t["source_entity"] == "orders"].set_index("source_record_id")["person_id"]
    for oid, person in owners.items():
        assert f"P{int(orders[oid]) - 7_100_000_000:07d}" == person
