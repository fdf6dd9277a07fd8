"""The suites themselves: derived from dbt and the record contracts, they catch bad values.

Validated directly on the first run's tables (no Dagster), so each kind of bad value is a
fast case of its own."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestration.defs.quality.suites import RAW_TABLES, load_time, mart_suite
from orchestration.lib.gx_validation import validate_dataframe
from orchestration.lib.warehouse import query_frame, query_rows


@pytest.fixture(scope="module")
def orders(first_run, data_dir) -> pd.DataFrame:
    # Module-scoped: the per-test OMNI_DATA_DIR is not set yet, so name the warehouse.
    return query_frame(mart_suite("fct_orders").query, data_dir / "warehouse.duckdb")


def _validate_orders(frame: pd.DataFrame):
    suite = mart_suite("fct_orders")
    return validate_dataframe(frame, suite.name, suite.expectations)


def test_the_orders_suite_comes_from_the_dbt_contract(orders):
    suite = mart_suite("fct_orders")
    kinds = {(e.expectation_type, getattr(e, "column", None)) for e in suite.expectations}
    # Keys from the YAML's unique test and not-null constraint, values from accepted_values,
    # money non-negative from its type, net ≤ gross from the column names.
    assert ("expect_column_values_to_be_unique", "order_id") in kinds
    assert ("expect_column_values_to_not_be_null", "order_id") in kinds
    assert ("expect_column_values_to_be_in_set", "channel") in kinds
    assert ("expect_column_values_to_be_between", "gross_revenue") in kinds
    assert ("expect_column_pair_values_a_to_be_greater_than_b", None) in kinds
    outcome = _validate_orders(orders)
    assert outcome.success, [f.label for f in outcome.failures]
    assert outcome.rows == len(orders) > 100


def _damaged(orders: pd.DataFrame, column: str, value) -> pd.DataFrame:
    frame = orders.copy()
    frame.loc[frame.index[0], column] = value
    return frame


@pytest.mark.parametrize(
    ("column", "value", "failed"),
    [
        ("order_id", "duplicate", {"expect_column_values_to_be_unique(order_id)"}),
        ("order_id", None, {"expect_column_values_to_not_be_null(order_id)"}),
        ("channel", "fax", {"expect_column_values_to_be_in_set(channel)"}),
        (
            # A refund larger than the order: net below zero is impossible.
            "net_revenue",
            -5.0,
            {"expect_column_values_to_be_between(net_revenue)"},
        ),
        (
            "net_revenue",
            10_000_000.0,
            {"expect_column_pair_values_a_to_be_greater_than_b(gross_revenue, net_revenue)"},
        ),
    ],
)
def test_bad_orders_fail_the_right_expectation(orders, column, value, failed):
    frame = _damaged(orders, column, value)
    if value == "duplicate":
        frame.loc[frame.index[0], column] = frame.loc[frame.index[1], column]
    outcome = _validate_orders(frame)
    assert not outcome.success
    assert {f.label for f in outcome.failures} == failed
    (failure,) = outcome.failures
    # What GX saw is reported, with the failing row itself (its order id included).
    assert failure.observed["unexpected_count"] >= 1
    expected_id = None if value is None else frame.iloc[0]["order_id"]
    assert failure.failing_rows[0]["order_id"] == expected_id


def _raw_table(system: str, table: str):
    return next(t for t in RAW_TABLES[system] if t.table == table)


def test_a_broken_email_feed_fails_where_the_sandbox_mess_passes(first_run):
    contacts = _raw_table("crm", "contacts")
    ((load_id,),) = query_rows(contacts.load_id_sql())
    batch = query_frame(contacts.batch_sql(load_id))
    suite = contacts.expectations(load_time(load_id))
    label = "expect_column_values_to_match_regex(email)"

    # The sandbox writes case, whitespace, Gmail dots, plus-tags and typos on purpose.
    healthy = validate_dataframe(batch, contacts.suite_name, suite)
    assert label not in {f.label for f in healthy.failures}
    assert batch["email"].str.contains(r"^\s|\s$|[A-Z]|\+", regex=True).sum() > 0

    # A feed that lost the `@` of one email in ten fails, even though most are fine.
    broken = batch.copy()
    broken["email"] = broken["email"].astype(object)
    every_tenth = broken.index[::10]
    broken.loc[every_tenth, "email"] = broken.loc[every_tenth, "email"].str.replace("@", " at ")
    outcome = validate_dataframe(broken, contacts.suite_name, suite)
    assert label in {f.label for f in outcome.failures}
    assert outcome.failing_rows[0]["id"] in set(broken.loc[every_tenth, "id"])


def test_a_timestamp_after_the_load_fails_the_batch(first_run):
    events = _raw_table("clickstream", "events")
    ((load_id,),) = query_rows(events.load_id_sql())
    batch = query_frame(events.batch_sql(load_id))
    loaded_at = load_time(load_id)
    batch.loc[batch.index[0], "occurred_at"] = pd.Timestamp(loaded_at) + pd.Timedelta(days=30)
    outcome = validate_dataframe(batch, events.suite_name, events.expectations(loaded_at))
    assert {f.label for f in outcome.failures} == {
        "expect_column_values_to_be_between(occurred_at)"
    }
