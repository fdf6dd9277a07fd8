"""Great Expectations suites over the marts, each with the query whose result it validates."""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations.expectations as gxe

CANONICAL_CHANNELS = [
    "store", "web", "app", "phone", "whatsapp", "email", "sms", "chat", "social", "push",
    "paid_search", "paid_social", "display", "affiliate",
]  # fmt: skip
FULFILMENTS = ["ship", "pickup_in_store", "ship_from_store", "in_store"]


@dataclass(frozen=True)
class MartSuite:
    name: str
    mart: str
    query: str
    expectations: list[gxe.Expectation]


def fct_orders_suite() -> MartSuite:
    expectations = [
        gxe.ExpectColumnValuesToNotBeNull(column="order_id"),
        gxe.ExpectColumnValuesToBeUnique(column="order_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="channel"),
        gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=CANONICAL_CHANNELS),
        gxe.ExpectColumnValuesToBeInSet(column="fulfilment", value_set=FULFILMENTS),
        gxe.ExpectColumnValuesToNotBeNull(column="ordered_at"),
        gxe.ExpectColumnValuesToBeBetween(column="gross_revenue", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="net_revenue", min_value=0),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="gross_revenue", column_B="net_revenue", or_equal=True
        ),
    ]
    # Money is DECIMAL in DuckDB; GX compares floats, so cast once here.
    query = (
        "select order_id, channel, fulfilment, ordered_at, "
        "cast(gross_revenue as double) as gross_revenue, "
        "cast(net_revenue as double) as net_revenue from marts.fct_orders"
    )
    return MartSuite("fct_orders", "fct_orders", query, expectations)


SUITES = [fct_orders_suite]
