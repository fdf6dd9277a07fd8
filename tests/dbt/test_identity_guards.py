"""The over-merge guards on crafted cases, and a split recorded in customer_id_history.

On a copy of the built world's warehouse: a placeholder email is typed on shop orders of
four different account holders (below the group-size limit: the four merge), two CRM
contacts of different people get the same household inbox, two account holders log in on
one shared tablet (one also completes an order on it); the identity models are built.
Then the same email reaches the orders of three more accounts (seven, above the limit of
six): the next build excludes it, the merged customer splits, and the history says so.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import duckdb
import pandas as pd
import pytest
from dbt_world import BuiltWorld, run_dbt

PLACEHOLDER = "pedidos@ejemplo.es"
HOUSEHOLD = "familia.garcia@ejemplo.es"
TABLET = "shared-tablet-0001"
IDENTITY_MODELS = ("run", "-s", "+customer_identities", "+customer_id_history")


@dataclass(frozen=True)
class Guarded:
    orders: list[str]  # seven shop orders of seven different customers, oldest first
    accounts_before: dict[str, str]  # order id -> customer_id in the built world
    contacts: list[str]  # two CRM contacts of different people, given one inbox
    tablet_accounts: dict[str, str]  # shop account -> customer_id, earlier login first
    first: BuiltWorld  # placeholder on four orders
    first_resolved: pd.DataFrame
    second: BuiltWorld  # placeholder on all seven


def _resolved(world: BuiltWorld) -> pd.DataFrame:
    return world.query(
        "select source_entity, source_record_id, customer_id from marts.customer_identities"
    )


def _customer_of(resolved: pd.DataFrame, entity: str, ids: list[str]) -> list[str]:
    by_id = resolved[resolved["source_entity"] == entity].set_index("source_record_id")
    return [by_id.loc[i, "customer_id"] for i in ids]


@pytest.fixture(scope="session")
def guarded_world(built_world: BuiltWorld, tmp_path_factory: pytest.TempPathFactory) -> Guarded:
    root = tmp_path_factory.mktemp("identity_guards")
    shutil.copy(built_world.warehouse, root / "warehouse.duckdb")
    world = BuiltWorld(built_world.sources, root / "warehouse.duckdb", "")
    with duckdb.connect(str(world.warehouse)) as con:
        orders = con.execute(
            """
            select any_value(o.id order by o.id) as order_id, i.customer_id
            from raw_ecommerce.orders as o
            inner join marts.customer_identities as i
                on i.source_entity = 'orders' and i.source_record_id = o.id
            where o.customer_id is not null
            group by i.customer_id
            order by i.customer_id
            limit 7
            """
        ).fetchall()
        contacts = con.execute(
            """
            select c.id from raw_crm.contacts as c
            inner join marts.customer_identities as i
                on i.source_entity = 'contacts' and i.source_record_id = c.id
            where c.firstname in ('Lucía', 'Antonio') and not c.archived
            qualify row_number() over (partition by c.firstname order by c.id) = 1
            """
        ).fetchall()
        # Two account holders with an order each, neither among the seven above.
        tablet_users = con.execute(
            """
            select o.customer_id, any_value(o.id order by o.id), any_value(i.customer_id)
            from raw_ecommerce.orders as o
            inner join marts.customer_identities as i
                on i.source_entity = 'customers' and i.source_record_id = o.customer_id
            where i.customer_id not in (select unnest(?))
            group by o.customer_id
            order by o.customer_id
            limit 2
            """,
            [[c for _, c in orders]],
        ).fetchall()
        assert len(orders) == 7 and len(contacts) == 2 and len(tablet_users) == 2
        _log_in_on_one_tablet(con, tablet_users)
        order_ids = [o for o, _ in orders]
        con.execute(
            f"update raw_ecommerce.orders set email = '{PLACEHOLDER}' where id in (?, ?, ?, ?)",
            order_ids[:4],
        )
        con.execute(
            f"update raw_crm.contacts set email = '{HOUSEHOLD}' where id in (?, ?)",
            [c for (c,) in contacts],
        )
    result = run_dbt(root, *IDENTITY_MODELS)
    assert result.returncode == 0, result.stdout[-4000:]
    first_resolved = _resolved(world)
    first_copy = root / "first.duckdb"
    shutil.copy(world.warehouse, first_copy)

    with duckdb.connect(str(world.warehouse)) as con:
        con.execute(
            f"update raw_ecommerce.orders set email = '{PLACEHOLDER}' where id in (?, ?, ?)",
            order_ids[4:],
        )
    result = run_dbt(root, *IDENTITY_MODELS)
    assert result.returncode == 0, result.stdout[-4000:]
    return Guarded(
        orders=order_ids,
        accounts_before=dict(orders),
        contacts=[c for (c,) in contacts],
        tablet_accounts={account: customer for account, _, customer in tablet_users},
        first=BuiltWorld(built_world.sources, first_copy, ""),
        first_resolved=first_resolved,
        second=world,
    )


def _log_in_on_one_tablet(con: duckdb.DuckDBPyConnection, users: list[tuple]) -> None:
    """The first user logs in on the tablet and completes their order on it; two days later
    the second logs in and browses."""
    (first, first_order, _), (second, _, _) = users
    events = [
        ("ev-tablet-1", first, "login", "2025-09-20 10:00:00+00", None),
        ("ev-tablet-2", first, "order_completed", "2025-09-20 10:20:00+00", first_order),
        ("ev-tablet-3", second, "login", "2025-09-22 18:00:00+00", None),
        ("ev-tablet-4", second, "product_view", "2025-09-22 18:05:00+00", None),
    ]
    for event_id, user, event_type, at, order in events:
        con.execute(
            """
            insert into raw_clickstream.events
                (event_id, anonymous_id, user_id, platform, event_type, occurred_at, order_id,
                 _dlt_load_id)
            select ?, ?, ?, 'app', ?, ?::timestamptz, ?, max(_dlt_load_id)
            from raw_clickstream.events
            """,
            [event_id, TABLET, user, event_type, at, order],
        )


def _exclusions(world: BuiltWorld, value: str, identifier_type: str = "email") -> pd.DataFrame:
    return world.query(
        "select * from intermediate.int_identifiers_excluded "
        f"where identifier_type = '{identifier_type}' and identifier_value = '{value}'"
    )


def test_a_shared_tablet_joins_no_one_and_stays_with_its_last_login(
    guarded_world: Guarded,
) -> None:
    audit = _exclusions(guarded_world.first, TABLET, "anonymous_id")
    assert audit["reason"].tolist() == ["shared_device"]
    assert audit["distinct_accounts"].iloc[0] == 2
    resolved = guarded_world.first_resolved
    (first, before_first), (second, before_second) = guarded_world.tablet_accounts.items()
    # Both account holders keep the customer they were before the tablet existed.
    assert _customer_of(resolved, "customers", [first, second]) == [before_first, before_second]
    # The tablet itself is the second user's: the account that logged in on it last.
    assert _customer_of(resolved, "anonymous_ids", [TABLET]) == [before_second]


def test_an_email_on_few_accounts_still_joins_them(guarded_world: Guarded) -> None:
    # Four accounts are within the limit (six): the shared email is evidence, not junk.
    assert _exclusions(guarded_world.first, PLACEHOLDER).empty
    customers = _customer_of(guarded_world.first_resolved, "orders", guarded_world.orders[:4])
    assert len(set(customers)) == 1


def test_an_email_on_too_many_accounts_is_excluded_and_joins_no_one(
    guarded_world: Guarded,
) -> None:
    audit = _exclusions(guarded_world.second, PLACEHOLDER)
    assert audit["reason"].tolist() == ["too_many_accounts"]
    assert audit["distinct_accounts"].iloc[0] == 7
    assert audit["records_carrying"].iloc[0] == 7
    customers = _customer_of(_resolved(guarded_world.second), "orders", guarded_world.orders)
    assert len(set(customers)) == 7
    # Every account is back under the id it had before any crafted email.
    assert customers == [guarded_world.accounts_before[o] for o in guarded_world.orders]


def test_a_household_inbox_of_different_names_is_excluded(guarded_world: Guarded) -> None:
    audit = _exclusions(guarded_world.first, HOUSEHOLD)
    assert audit["reason"].tolist() == ["shared_by_different_names"]
    assert audit["distinct_names"].iloc[0] == 2
    customers = _customer_of(guarded_world.first_resolved, "contacts", guarded_world.contacts)
    assert customers[0] != customers[1]


def test_a_split_keeps_the_survivors_id_and_is_recorded(guarded_world: Guarded) -> None:
    merged_id = _customer_of(guarded_world.first_resolved, "orders", guarded_world.orders[:1])[0]
    after = _customer_of(_resolved(guarded_world.second), "orders", guarded_world.orders[:4])
    # The part holding the record that named the merged customer keeps its id.
    assert merged_id in after
    split_off = sorted(set(after) - {merged_id})
    assert len(split_off) == 3

    history = guarded_world.second.query(
        "select * from marts.customer_id_history "
        f"where previous_customer_id = '{merged_id}' and change_type = 'split'"
    )
    assert sorted(history["customer_id"]) == split_off
    # Each split-off part took its account's records away from the merged customer.
    first = guarded_world.first_resolved
    for customer_id, moved in zip(history["customer_id"], history["records_moved"], strict=True):
        now = _resolved(guarded_world.second)
        records = set(now.loc[now["customer_id"] == customer_id, "source_record_id"])
        before = first[first["source_record_id"].isin(records)]
        assert moved == (before["customer_id"] == merged_id).sum() > 0
