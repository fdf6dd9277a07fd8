"""fct_touchpoints and fct_journeys against the raw files and an independent sessionizer."""

from __future__ import annotations

from collections import Counter

import pandas as pd
from dbt_world import BuiltWorld

JOURNEY_GAP = pd.Timedelta(days=30)
MARKETING_TOUCHES = {"delivered", "opened", "clicked", "unsubscribed"}


def _touchpoints(world: BuiltWorld) -> pd.DataFrame:
    return world.query("select * from marts.fct_touchpoints")


def test_every_source_interaction_is_one_touchpoint(built_world: BuiltWorld) -> None:
    expected: Counter[tuple[str, str]] = Counter()
    events = {e["event_id"]: e for e in built_world.file_records("clickstream", "events")}
    expected.update((e["event_type"], e["platform"]) for e in events.values())
    for delivery in built_world.file_records("messaging", "deliveries"):
        if delivery["event_type"] in MARKETING_TOUCHES:
            expected[(f"marketing_{delivery['event_type']}", delivery["channel"])] += 1
    conversations = {
        c["conversation_id"]: c for c in built_world.file_records("messaging", "conversations")
    }
    for conversation in conversations.values():
        kind = "service_call" if conversation["channel"] == "phone" else "service_conversation"
        expected[(kind, conversation["channel"])] += 1
    for order in built_world.shop_docs("orders"):
        expected[("online_order", order["source_name"])] += 1
        # A refund is handled on the channel the order was placed in.
        if order.get("refunds"):
            expected[("online_refund", order["source_name"])] += len(order["refunds"])
    for checkout in built_world.shop_docs("checkouts"):
        expected[("checkout_abandoned", checkout["source_name"])] += 1
    ((tickets,),) = built_world.pos("SELECT count(*) FROM transactions")
    ((returns,),) = built_world.pos("SELECT count(*) FROM returns")
    ((pickups,),) = built_world.pos("SELECT count(*) FROM pickups WHERE picked_up_at IS NOT NULL")
    expected.update({("store_purchase", "store"): tickets, ("store_return", "store"): returns})
    expected[("store_pickup", "store")] = pickups

    actual = _touchpoints(built_world).groupby(["touchpoint_type", "channel"]).size()
    assert {key: int(n) for key, n in actual.items()} == dict(expected)


def test_a_devices_events_before_login_belong_to_the_person(built_world: BuiltWorld) -> None:
    events = built_world.file_records("clickstream", "events")
    # A deleted shop account is gone from the warehouse: its device cannot be stitched.
    deleted = {str(c["id"]) for c in built_world.shop_docs("customers") if c["state"] == "deleted"}
    logged_in_as = {
        e["anonymous_id"]: str(e["user_id"])
        for e in events
        if e.get("user_id") and str(e["user_id"]) not in deleted
    }
    before_login = [e for e in events if e["anonymous_id"] in logged_in_as and not e.get("user_id")]
    assert before_login, "the world should have devices browsing before they log in"

    shop_accounts = built_world.query(
        "select source_record_id, customer_id from marts.customer_identities "
        "where source_system = 'ecommerce' and source_entity = 'customers'"
    ).set_index("source_record_id")["customer_id"]
    touchpoints = _touchpoints(built_world).set_index("source_record_id")
    for event in before_login:
        customer = touchpoints.loc[event["event_id"], "customer_id"]
        assert customer == shop_accounts[logged_in_as[event["anonymous_id"]]]

    never_identified = built_world.query(
        "select count(*) as n from marts.fct_touchpoints where customer_id is null"
    )["n"].iloc[0]
    assert never_identified > 0


def _sessionize(touchpoints: pd.DataFrame) -> dict[str, int]:
    """The journey rule written again in plain Python: a customer's journey touchpoints in
    time order; after a purchase or a gap longer than 30 days a new journey starts."""
    steps = touchpoints[touchpoints["is_in_journey"] & touchpoints["customer_id"].notna()]
    steps = steps.sort_values(["customer_id", "occurred_at", "is_conversion", "touchpoint_id"])
    numbers: dict[str, int] = {}
    journey = 0
    previous = None
    for row in steps.itertuples():
        if (
            previous is None
            or previous.customer_id != row.customer_id
            or previous.is_conversion
            or row.occurred_at - previous.occurred_at > JOURNEY_GAP
        ):
            journey += 1
        numbers[row.touchpoint_id] = journey
        previous = row
    return numbers


def _same_partition(touchpoints: pd.DataFrame, numbers: dict[str, int]) -> bool:
    grouped = touchpoints[touchpoints["journey_id"].notna()]
    pairs = set(zip(grouped["journey_id"], grouped["touchpoint_id"].map(numbers), strict=True))
    return len(pairs) == grouped["journey_id"].nunique() == len(set(numbers.values()))


def test_journeys_follow_the_purchase_and_inactivity_rule(built_world: BuiltWorld) -> None:
    touchpoints = _touchpoints(built_world)
    assert _same_partition(touchpoints, _sessionize(touchpoints))

    journeys = built_world.query("select * from marts.fct_journeys")
    orders = built_world.query(
        "select order_id, channel from marts.fct_orders "
        "where customer_id is not null and not is_cancelled"
    )
    # Every purchase of a known customer ends exactly one journey, on its own channel.
    converted = journeys[journeys["converted"]].set_index("order_id")
    assert sorted(converted.index) == sorted(orders["order_id"])
    assert (
        converted.loc[orders["order_id"], "conversion_channel"].to_numpy()
        == orders["channel"].to_numpy()
    ).all()
    switched = journeys[journeys["is_channel_switch"]]
    assert len(switched) > 0
    assert (switched["channel_path"].str.count(" > ") + 1 == switched["channels_count"]).all()


def test_channel_segment_follows_the_journeys(built_world: BuiltWorld) -> None:
    journeys = built_world.query("select customer_id, is_channel_switch from marts.fct_journeys")
    touchpoints = _touchpoints(built_world)
    in_journeys = touchpoints[touchpoints["journey_id"].notna()]
    channels = in_journeys.groupby("customer_id")["channel"].nunique()
    switched = journeys.groupby("customer_id")["is_channel_switch"].any()
    bought = (
        built_world.query(
            "select customer_id, channel from marts.fct_orders "
            "where customer_id is not null and not is_cancelled"
        )
        .groupby("customer_id")["channel"]
        .agg(set)
    )

    def segment(customer: str) -> str:
        channels_bought = bought.get(customer, set())
        store_and_digital = "store" in channels_bought and len(channels_bought) >= 2
        if switched[customer] and store_and_digital:
            return "omni"
        if switched[customer]:
            return "cross"
        return "multi" if channels[customer] > 1 else "single"

    expected = {customer: segment(customer) for customer in switched.index}
    actual = built_world.query(
        "select customer_id, channel_segment from marts.dim_customers "
        "where channel_segment is not null"
    ).set_index("customer_id")["channel_segment"]
    assert actual.to_dict() == expected
    assert set(expected.values()) == {"single", "multi", "cross", "omni"}


def test_incremental_touchpoints_equal_a_full_refresh(built_world, advanced_world) -> None:
    incremental, full = advanced_world
    columns = "touchpoint_id, customer_id, channel, touchpoint_type, occurred_at, journey_id"
    before = built_world.query(f"select {columns} from marts.fct_touchpoints")
    after = incremental.query(f"select {columns} from marts.fct_touchpoints order by 1")
    rebuilt = full.query(f"select {columns} from marts.fct_touchpoints order by 1")
    assert len(after) > len(before)
    pd.testing.assert_frame_equal(after, rebuilt)
    assert {"online_refund", "checkout_abandoned", "store_return"} <= set(after["touchpoint_type"])
    # Devices that logged in after the first build: their earlier events changed customer.
    both = before.merge(after, on="touchpoint_id", suffixes=("_before", "_after"))
    restitched = both["customer_id_before"].fillna("") != both["customer_id_after"].fillna("")
    assert restitched.sum() > 0
    # Journeys still open at the first build went on with the same id.
    carried = set(before["journey_id"].dropna()) & set(
        after.loc[~after["touchpoint_id"].isin(before["touchpoint_id"]), "journey_id"].dropna()
    )
    assert carried
