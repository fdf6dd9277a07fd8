"""A full in-process run on a small world publishes marts a BI tool can trust."""

from __future__ import annotations

import json

import dagster as dg
import pytest


def test_run_publishes_the_warehouse_revenue(first_run, data_dir, warehouse_row, published_row):
    assert first_run.published and (data_dir / "published" / "marts.duckdb").exists()
    sql = "select count(*), count(distinct order_id), sum(net_revenue) from fct_orders"
    orders, distinct_orders, net_revenue = published_row(sql)
    assert net_revenue > 0 and orders == distinct_orders
    # Not a single order or cent lost or duplicated on the way from warehouse to BI.
    assert (orders, distinct_orders, net_revenue) == warehouse_row(sql)


def test_published_revenue_is_the_sandbox_truth(first_run, sources_dir, published_row):
    truth = json.loads((sources_dir / "_truth" / "kpis.json").read_text())["revenue_total"]
    orders, net_revenue = published_row("select count(*), sum(net_revenue) from fct_orders")
    assert orders == truth["orders"]
    assert float(net_revenue) == pytest.approx(truth["net_revenue"], abs=0.005)


def test_kpi_summary_reads_the_published_file(first_run, data_dir, sources_dir, published_row):
    from orchestration.lib.kpi_summary import format_summary, read_summary

    published = data_dir / "published" / "marts.duckdb"
    summary = read_summary(published)
    kpis = json.loads((sources_dir / "_truth" / "kpis.json").read_text())
    truth = kpis["revenue_total"]
    assert summary.customers == published_row("select count(*) from dim_customers")[0]
    assert sum(c.orders for c in summary.channels) == truth["orders"]
    assert sum(c.net_revenue for c in summary.channels) == pytest.approx(truth["net_revenue"])
    assert 0 < summary.multichannel_buyers < summary.buying_customers
    headlines = dict(summary.headlines)
    # No identity involved: the pickup rate is exact against the generator's own figure.
    pickup_rate = kpis["click_and_collect"]["pickup_rate"]
    shown = float(headlines["Click-and-collect pickup rate"].rstrip("%")) / 100
    assert shown == pytest.approx(pickup_rate, abs=0.0006)  # printed to 0.1 %
    text = format_summary(summary, published)
    assert f"{truth['net_revenue']:,.2f} EUR" in text and str(published) in text
    assert "Conversion rate (orders / visitors): app " in text


def test_publish_metadata_matches_the_published_file(first_run, data_dir, published_row):
    tables = first_run.published_metadata["tables"]
    assert {"dim_customers", "customer_identities", "fct_orders"} <= set(tables)
    for table, rows in tables.items():
        assert published_row(f'select count(*) from "{table}"') == (rows,)
    assert first_run.published_metadata["path"] == str(data_dir / "published" / "marts.duckdb")


def test_every_load_reconciles_and_gx_passed(first_run):
    from orchestration.lib.run_checks import check_evaluations
    from orchestration.lib.runner import local_instance

    evaluations = check_evaluations(local_instance(), first_run.run_id)
    reconciled = [e for e in evaluations if e.check_name == "load_reconciliation"]
    raw_keys = {e.asset_key for e in reconciled}
    assert dg.AssetKey(["raw_crm", "contacts"]) in raw_keys
    assert dg.AssetKey(["raw_pos", "transactions"]) in raw_keys
    assert all(e.passed for e in reconciled)
    received = {e.asset_key.to_user_string(): e.metadata["received"].value for e in reconciled}
    assert received["raw_pos/transactions"] > 0

    (gx,) = [e for e in evaluations if e.check_name == "gx_fct_orders"]
    assert gx.passed
    expectations = gx.metadata["expectations"].value
    assert len(expectations) >= 5
    assert all("expected" in e and "observed" in e for e in expectations)


def test_bi_reader_holding_the_file_does_not_block_a_publish(first_run, data_dir):
    import duckdb

    from orchestration.defs.publish.assets import published_marts
    from orchestration.lib.runner import local_instance

    published = data_dir / "published" / "marts.duckdb"
    reader = duckdb.connect(str(published), read_only=True)
    try:
        before = reader.execute("select count(*) from marts.marts.fct_orders").fetchone()[0]
        result = dg.materialize([published_marts], instance=local_instance())
        assert result.success
        # The open session still reads its complete snapshot.
        assert reader.execute("select count(*) from marts.marts.fct_orders").fetchone()[0] == before
    finally:
        reader.close()


def test_materialisations_carry_row_counts(first_run, warehouse_row):
    from orchestration.lib.runner import local_instance

    entries = local_instance().all_logs(
        first_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    metadata = {
        e.dagster_event.asset_key: e.dagster_event.event_specific_data.materialization.metadata
        for e in entries
    }
    (orders,) = warehouse_row("select count(*) from marts.fct_orders")
    assert metadata[dg.AssetKey(["marts", "fct_orders"])]["dagster/row_count"].value == orders
    # The first load brings every ticket of the world.
    (tickets,) = warehouse_row("select count(*) from raw_pos.transactions")
    raw = metadata[dg.AssetKey(["raw_pos", "transactions"])]
    assert raw["rows_loaded"].value == tickets
