"""fct_orders against the source systems themselves: every order once, revenue to the cent."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from dbt_world import BuiltWorld, money


def _expected_from_sources(world: BuiltWorld) -> dict[str, dict[str, Decimal]]:
    """Gross and net per channel computed from the POS database and the shop's documents,
    following SOURCES.md's revenue definitions, without touching any model."""
    returned_ticket: dict[str, Decimal] = defaultdict(Decimal)
    returned_order: dict[str, Decimal] = defaultdict(Decimal)
    for ticket_id, order_id, amount in world.pos(
        "SELECT original_transaction_id, original_order_id, refund_amount FROM returns"
    ):
        if ticket_id:
            returned_ticket[str(ticket_id)] += money(amount)
        elif order_id:
            returned_order[str(order_id)] += money(amount)

    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for ticket_id, amount in world.pos("SELECT transaction_id, total_amount FROM transactions"):
        totals["store"]["gross"] += money(amount)
        totals["store"]["net"] += money(amount) - returned_ticket[str(ticket_id)]
        totals["store"]["orders"] += 1
    for order in world.shop_docs("orders"):
        channel = order["source_name"]
        totals[channel]["orders"] += 1
        if order.get("cancelled_at"):
            continue
        refunds = sum((money(r["amount"]) for r in order.get("refunds") or []), Decimal(0))
        gross = money(order["total_price"])
        totals[channel]["gross"] += gross
        totals[channel]["net"] += gross - refunds - returned_order[str(order["id"])]
    return {channel: dict(values) for channel, values in totals.items()}


def test_net_revenue_per_channel_matches_sources_and_truth(built_world: BuiltWorld) -> None:
    expected = _expected_from_sources(built_world)
    actual = built_world.query(
        "select channel, count(*) as orders, sum(gross_revenue) as gross, "
        "sum(net_revenue) as net from marts.fct_orders group by channel"
    ).set_index("channel")
    truth = built_world.kpis["revenue_by_channel"]

    assert set(actual.index) == set(expected) == set(truth)
    for channel, values in expected.items():
        row = actual.loc[channel]
        assert money(row["net"]) == values["net"], channel
        assert money(row["gross"]) == values["gross"], channel
        assert int(row["orders"]) == values["orders"], channel
        # The generator's own ledger agrees with what its systems wrote.
        assert money(truth[channel]["net_revenue"]) == values["net"], channel
        assert truth[channel]["orders"] == values["orders"], channel

    total = built_world.kpis["revenue_total"]
    assert money(actual["net"].sum()) == money(total["net_revenue"])
    assert int(actual["orders"].sum()) == total["orders"]


def test_every_source_order_appears_exactly_once(built_world: BuiltWorld) -> None:
    tickets = {str(t) for (t,) in built_world.pos("SELECT transaction_id FROM transactions")}
    online = {str(o["id"]) for o in built_world.shop_docs("orders")}
    assert tickets and online and not tickets & online, "ticket and order ids must not collide"

    ids = built_world.query("select order_id from marts.fct_orders")["order_id"].tolist()
    duplicated = [i for i, n in Counter(ids).items() if n > 1]
    assert duplicated == []
    assert set(ids) == tickets | online


def test_online_order_returned_in_store_has_its_net_reduced(built_world: BuiltWorld) -> None:
    returns = built_world.pos(
        "SELECT original_order_id, sum(refund_amount) FROM returns "
        "WHERE original_order_id IS NOT NULL GROUP BY original_order_id"
    )
    assert returns, "the sandbox world should contain online orders returned in a shop"
    orders = {str(o["id"]): o for o in built_world.shop_docs("orders")}
    facts = built_world.query(
        "select order_id, channel, gross_revenue, returned_amount, net_revenue "
        "from marts.fct_orders where source_system = 'ecommerce'"
    ).set_index("order_id")

    checked = 0
    for order_id, returned in returns:
        order = orders[str(order_id)]
        if order.get("cancelled_at"):
            continue
        refunds = sum((money(r["amount"]) for r in order.get("refunds") or []), Decimal(0))
        row = facts.loc[str(order_id)]
        assert row["channel"] != "store"
        assert money(row["returned_amount"]) == money(returned)
        assert money(row["net_revenue"]) == money(order["total_price"]) - refunds - money(returned)
        assert money(row["net_revenue"]) < money(row["gross_revenue"])
        checked += 1
    assert checked > 0
