"""kpi_channel_daily against the raw files and the generator's truth."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from dbt_world import BuiltWorld, money

MADRID = ZoneInfo("Europe/Madrid")
SALES_CHANNELS = ("store", "web", "app", "phone", "whatsapp")


def test_daily_net_revenue_adds_up_to_the_true_channel_totals(built_world: BuiltWorld) -> None:
    daily = built_world.query(
        "select channel, sum(net_revenue) as net, sum(orders) as orders "
        f"from marts.kpi_channel_daily where channel in {SALES_CHANNELS} group by channel"
    ).set_index("channel")
    truth = built_world.kpis["revenue_by_channel"]
    cancelled = built_world.kpis["revenue_total"]["cancelled_orders"]
    for channel, values in truth.items():
        assert money(daily.loc[channel, "net"]) == money(values["net_revenue"]), channel
    # kpi_channel_daily counts orders that were not cancelled.
    assert int(daily["orders"].sum()) == built_world.kpis["revenue_total"]["orders"] - cancelled


def test_spend_per_channel_equals_the_truth(built_world: BuiltWorld) -> None:
    spend = built_world.query(
        "select channel, sum(spend) as spend from marts.kpi_channel_daily "
        "where spend > 0 group by channel"
    ).set_index("channel")["spend"]
    truth = built_world.kpis["spend_by_channel"]
    assert truth
    assert {ch: money(v) for ch, v in spend.items()} == {ch: money(v) for ch, v in truth.items()}


def test_visitors_are_distinct_devices_per_madrid_day(built_world: BuiltWorld) -> None:
    devices: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in (built_world.sources / "clickstream").rglob("*.jsonl.gz"):
        with gzip.open(path, "rt") as lines:
            for line in lines:
                event = json.loads(line)
                at = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
                day = at.astimezone(MADRID).date().isoformat()
                devices[(day, event["platform"])].add(event["anonymous_id"])
    expected = {key: len(ids) for key, ids in devices.items()}

    rows = built_world.query(
        "select strftime(date, '%Y-%m-%d') as day, channel, visitors from marts.kpi_channel_daily "
        "where channel in ('web', 'app') and visitors is not null"
    )
    actual = {(r.day, r.channel): int(r.visitors) for r in rows.itertuples()}
    assert expected and actual == expected


def test_new_customers_are_first_time_buyers(built_world: BuiltWorld) -> None:
    new = built_world.query(
        "select sum(new_customers) as n from marts.kpi_channel_daily "
        f"where channel in {SALES_CHANNELS}"
    )["n"].iloc[0]
    buyers = built_world.query(
        "select count(*) as n from marts.dim_customers where orders_count > 0"
    )["n"].iloc[0]
    # Each buyer is new exactly once, on the day and channel of their first order.
    assert new == buyers > 0


def test_click_and_collect_outcomes_equal_the_truth(built_world: BuiltWorld) -> None:
    truth = built_world.kpis["click_and_collect"]
    totals = built_world.query(
        "select sum(ready) as ready, sum(picked_up) as picked_up, sum(expired) as expired "
        "from marts.kpi_click_and_collect"
    ).iloc[0]
    assert truth["pickups"] > 0
    assert int(totals["ready"]) == truth["pickups"]
    assert int(totals["picked_up"]) == truth["picked_up"]
    assert int(totals["expired"]) == truth["expired"]
    rate = int(totals["picked_up"]) / int(totals["picked_up"] + totals["expired"])
    assert round(rate, 4) == truth["pickup_rate"]


def test_multichannel_sales_split_every_order_once(built_world: BuiltWorld) -> None:
    split = built_world.query(
        "select sum(orders_after_multiple_channels + orders_after_one_channel + anonymous_orders)"
        " as orders, sum(net_revenue_after_multiple_channels + net_revenue_after_one_channel"
        " + anonymous_net_revenue) as net, sum(orders_after_multiple_channels) as multiple"
        " from marts.kpi_multichannel_sales"
    ).iloc[0]
    total = built_world.kpis["revenue_total"]
    assert int(split["orders"]) == total["orders"] - total["cancelled_orders"]
    assert money(split["net"]) == money(total["net_revenue"])
    assert int(split["multiple"]) > 0
