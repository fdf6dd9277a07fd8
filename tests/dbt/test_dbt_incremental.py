"""The incremental event facts: after `omni sandbox advance` an incremental build equals a
full refresh, an order moved to another customer is rebuilt, and a backfill of one
business day rebuilds exactly that day (vars `backfill_start` / `backfill_end`)."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pandas as pd
import pytest
from dbt_world import BuiltWorld, run_dbt

BACKFILL_DAY = date(2025, 9, 24)
# Per fact: key, timestamp, and a column every row is marked in before the backfill, so
# that the rows it rewrote can be told from the ones it left alone.
FACTS = {
    "fct_orders": ("order_id", "ordered_at", "landing_anonymous_id"),
    "fct_touchpoints": ("touchpoint_id", "occurred_at", "anonymous_id"),
}
# The watermark before the backfill: older than every real load.
OLD_LOAD = "timestamp '2000-01-01'"


def _rows(world: BuiltWorld, table: str, where: str = "true") -> pd.DataFrame:
    key = FACTS[table][0]
    return world.query(
        f"select * exclude (loaded_at) from marts.{table} where {where} order by {key}"
    ).reset_index(drop=True)


def _madrid_day(column: str) -> str:
    return f"cast(timezone('Europe/Madrid', timezone('UTC', {column})) as date)"


def _copy(world: BuiltWorld, tmp_path_factory: pytest.TempPathFactory, name: str) -> BuiltWorld:
    directory = tmp_path_factory.mktemp(name)
    shutil.copy(world.warehouse, directory / "warehouse.duckdb")
    return BuiltWorld(world.sources, directory / "warehouse.duckdb", "")


def test_incremental_orders_equal_a_full_refresh(built_world, advanced_world) -> None:
    incremental, full = advanced_world
    before = _rows(built_world, "fct_orders")
    after = _rows(incremental, "fct_orders")
    pd.testing.assert_frame_equal(after, _rows(full, "fct_orders"))
    # The advance brought new orders and refunds/returns of orders already built: those
    # must have been rebuilt, not only the new days.
    assert len(after) > len(before)
    both = before.merge(after, on="order_id", suffixes=("_before", "_after"))
    late_adjusted = both[both["net_revenue_before"] != both["net_revenue_after"]]
    assert len(late_adjusted) > 0
    assert (late_adjusted["net_revenue_after"] < late_adjusted["net_revenue_before"]).all()
    # Among them an order dlt did not load again (a ticket returned days later): only the
    # load time of its return can find it, no date window around new orders would.
    watermark = built_world.query("select max(loaded_at) as at from marts.fct_orders")["at"][0]
    orders = incremental.query("select order_id, loaded_at from intermediate.int_orders_unioned")
    not_reloaded = set(orders.loc[orders["loaded_at"] <= watermark, "order_id"])
    assert set(late_adjusted["order_id"]) & not_reloaded


@pytest.fixture(scope="module")
def identity_moved(advanced_world, tmp_path_factory):
    """The incremental warehouse where three orders carry a customer they no longer belong
    to (as after a merge of identity clusters) and one unchanged order a wrong net revenue,
    then an incremental run with nothing new loaded."""
    incremental, _ = advanced_world
    world = _copy(incremental, tmp_path_factory, "identity_moved")
    with duckdb.connect(str(world.warehouse)) as con:
        moved = [
            order_id
            for (order_id,) in con.sql(
                "select order_id from marts.fct_orders where customer_id is not null "
                "order by order_id limit 3"
            ).fetchall()
        ]
        con.execute(
            "update marts.fct_orders set customer_id = 'cus_gone' where order_id in (?, ?, ?)",
            moved,
        )
        ((untouched,),) = con.sql(
            "select order_id from marts.fct_orders where customer_id is not null "
            "order by order_id desc limit 1"
        ).fetchall()
        con.execute(
            "update marts.fct_orders set net_revenue = net_revenue - 1 where order_id = ?",
            [untouched],
        )
    result = run_dbt(world.warehouse.parent, "run", "-s", "fct_orders")
    assert result.returncode == 0, result.stdout[-4000:]
    return world, moved, untouched


def test_an_order_whose_customer_changed_is_rebuilt(advanced_world, identity_moved) -> None:
    _, full = advanced_world
    world, moved, untouched = identity_moved
    expected = _rows(full, "fct_orders").set_index("order_id")
    actual = _rows(world, "fct_orders").set_index("order_id")
    assert actual.loc[moved, "customer_id"].tolist() == expected.loc[moved, "customer_id"].tolist()
    # Nothing was loaded since the last build: an order that did not change is not rebuilt.
    assert actual.loc[untouched, "net_revenue"] == expected.loc[untouched, "net_revenue"] - 1


@pytest.fixture(scope="module")
def backfilled(advanced_world, tmp_path_factory):
    """The incremental warehouse with every fact row marked, the watermark set back, and a
    row whose source record does not exist on the backfill day and on the day before;
    then a backfill of that one day."""
    incremental, _ = advanced_world
    world = _copy(incremental, tmp_path_factory, "backfilled")
    with duckdb.connect(str(world.warehouse)) as con:
        for table, (key, at, marked) in FACTS.items():
            con.execute(f"update marts.{table} set {marked} = 'untouched', loaded_at = {OLD_LOAD}")
            for ghost, shift in (("ghost_in_window", 0), ("ghost_before", 1)):
                con.execute(
                    f"insert into marts.{table} select * replace ('{ghost}' as {key}, "
                    f"{at} - interval {shift} day as {at}) from marts.{table} "
                    f"where {_madrid_day(at)} = ? limit 1",
                    [BACKFILL_DAY],
                )
    result = run_dbt(
        world.warehouse.parent,
        "run",
        "-s",
        "fct_orders",
        "fct_touchpoints",
        backfill_start=BACKFILL_DAY.isoformat(),
        backfill_end=date.fromordinal(BACKFILL_DAY.toordinal() + 1).isoformat(),
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return world


@pytest.mark.parametrize("table", sorted(FACTS))
def test_a_backfill_rebuilds_exactly_its_day(advanced_world, backfilled, table) -> None:
    incremental, full = advanced_world
    key, at, marked = FACTS[table]
    day = f"{_madrid_day(at)} = date '{BACKFILL_DAY}'"
    # The day equals a full refresh: every row of it rewritten, the ghost gone.
    expected_day = _rows(full, table, day)
    assert len(expected_day) > 0
    pd.testing.assert_frame_equal(_rows(backfilled, table, day), expected_day)
    # Every other row is as it was, the ghost of the day before included.
    others = _rows(backfilled, table, f"not ({day})")
    assert (others[marked] == "untouched").all()
    assert "ghost_before" in set(others[key])
    assert len(others) == len(_rows(incremental, table, f"not ({day})")) + 1
    # The watermark did not move: the next normal run still sees every load as new.
    watermark = backfilled.query(f"select max(loaded_at) = {OLD_LOAD} as kept from marts.{table}")
    assert watermark["kept"].iloc[0]


def test_a_backfill_needs_both_ends(backfilled) -> None:
    result = run_dbt(
        backfilled.warehouse.parent, "compile", "-s", "fct_orders", backfill_start="2025-09-24"
    )
    assert result.returncode != 0
    assert "needs both vars backfill_start and backfill_end" in result.stdout
