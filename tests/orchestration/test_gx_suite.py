"""The Great Expectations suite behind ``gx_fct_orders`` really catches bad orders."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestration.defs.quality.suites import fct_orders_suite
from orchestration.lib.gx_validation import validate_dataframe


def _suite():
    suite = fct_orders_suite()
    return suite.name, suite.expectations


def _orders(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "order_id": ["pos-1", "shop-2", "shop-3"],
            "channel": ["store", "web", "whatsapp"],
            "fulfilment": ["in_store", "ship", "pickup_in_store"],
            "ordered_at": pd.to_datetime(
                ["2025-09-01 10:00", "2025-09-02 11:00", "2025-09-03 12:00"]
            ),
            "gross_revenue": [59.90, 120.00, 0.0],
            "net_revenue": [59.90, 100.00, 0.0],
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def test_clean_orders_pass_every_expectation():
    outcome = validate_dataframe(_orders(), *_suite())
    assert outcome.success
    assert outcome.rows == 3
    assert outcome.failures == []


@pytest.mark.parametrize(
    ("overrides", "failed"),
    [
        (
            {"order_id": ["pos-1", "pos-1", "shop-3"]},
            {"expect_column_values_to_be_unique(order_id)"},
        ),
        (
            {"order_id": ["pos-1", None, "shop-3"]},
            {"expect_column_values_to_not_be_null(order_id)"},
        ),
        (
            {"channel": ["store", "fax", "whatsapp"]},
            {"expect_column_values_to_be_in_set(channel)"},
        ),
        (
            # A refund larger than the order: net above gross is impossible, net below zero too.
            {"net_revenue": [59.90, 130.00, -5.0]},
            {
                "expect_column_pair_values_a_to_be_greater_than_b(gross_revenue, net_revenue)",
                "expect_column_values_to_be_between(net_revenue)",
            },
        ),
    ],
)
def test_bad_orders_fail_the_right_expectation(overrides, failed):
    outcome = validate_dataframe(_orders(**overrides), *_suite())
    assert not outcome.success
    assert {f.label for f in outcome.failures} == failed
    # What GX saw is reported, so the check's metadata can show expected vs observed.
    assert all(f.observed.get("unexpected_count", 0) >= 1 for f in outcome.failures)
