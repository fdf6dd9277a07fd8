"""customer_id is stable from one daily run to the next, and a merge leaves a forwarding
address: the world moves on (`ingestion.sandbox.advance`), one old store ticket of person B
is crafted to carry person A's loyalty card, and the identity models are rebuilt on top of
the previous run's warehouse."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import duckdb
import pandas as pd
import pytest
from dbt_world import BuiltWorld, run_dbt


@dataclass(frozen=True)
class Merge:
    before: pd.DataFrame  # record_key, customer_id of the first run
    after: BuiltWorld
    survivor: str
    retired: str


def _resolved(warehouse) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(
            "select record_key, customer_id from intermediate.int_identity_records_resolved "
            "where customer_id is not null"
        ).df()


def _pick_pair(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str, str]:
    """A ticket resolved through its receipt email alone (no card), its customer B, and
    another customer A with a loyalty card; the ticket is older than the POS lag window,
    so the next load leaves the crafted card in place."""
    return con.execute(
        """
        with tickets as (
            select t.transaction_id, i.customer_id
            from raw_pos.transactions as t
            inner join marts.customer_identities as i
                on i.source_entity = 'transactions' and i.source_record_id = t.transaction_id
            where coalesce(t.loyalty_card, '') = '' and t.receipt_email like '%@%'
              and t.updated_at < (select max(updated_at) - interval 7 day
                                  from raw_pos.transactions)
        ),
        cards as (
            select customer_id, loyalty_id from marts.dim_customers
            where loyalty_id is not null
        )
        select tickets.transaction_id, tickets.customer_id, cards.customer_id, cards.loyalty_id
        from tickets inner join cards on tickets.customer_id <> cards.customer_id
        order by tickets.transaction_id, cards.customer_id
        limit 1
        """
    ).fetchone()


@pytest.fixture(scope="session")
def merged_world(built_world: BuiltWorld, tmp_path_factory: pytest.TempPathFactory) -> Merge:
    from ingestion.pipelines import run_ingestion
    from ingestion.sandbox import advance

    root = tmp_path_factory.mktemp("stable_ids")
    shutil.copytree(built_world.sources, root / "sources")
    shutil.copy(built_world.warehouse, root / "warehouse.duckdb")
    before = _resolved(root / "warehouse.duckdb")

    advance(root / "sources", 2)
    run_ingestion(root / "sources", root / "warehouse.duckdb")
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        ticket, customer_b, customer_a, card = _pick_pair(con)
        con.execute(
            "update raw_pos.transactions set loyalty_card = ? where transaction_id = ?",
            [card, ticket],
        )
    result = run_dbt(root, "build")
    assert result.returncode == 0, result.stdout[-4000:]

    # The survivor is the cluster whose smallest record key is smaller (its CRM contact).
    smallest = before.groupby("customer_id")["record_key"].min()
    survivor, retired = sorted([customer_a, customer_b], key=lambda c: smallest[c])
    return Merge(
        before, BuiltWorld(root / "sources", root / "warehouse.duckdb", ""), survivor, retired
    )


def test_the_merged_cluster_keeps_the_survivors_id_and_maps_the_other(merged_world: Merge):
    after = _resolved(merged_world.after.warehouse)
    live = set(after["customer_id"])
    assert merged_world.survivor in live
    assert merged_world.retired not in live

    moved = merged_world.before[merged_world.before["customer_id"] == merged_world.retired]
    now = after.set_index("record_key").loc[moved["record_key"], "customer_id"]
    assert (now == merged_world.survivor).all()

    history = merged_world.after.query("select * from marts.customer_id_history")
    row = history[history["previous_customer_id"] == merged_world.retired]
    assert row["customer_id"].tolist() == [merged_world.survivor]
    assert row["change_type"].tolist() == ["merged"]
    assert row["records_moved"].iloc[0] == len(moved)


def test_every_id_of_the_previous_run_is_live_or_forwarded(merged_world: Merge):
    after = _resolved(merged_world.after.warehouse)
    live = set(after["customer_id"])
    history = merged_world.after.query("select * from marts.customer_id_history")
    # Ids whose every record was deleted upstream (erasures) rightly vanish.
    still_there = merged_world.before[merged_world.before["record_key"].isin(after["record_key"])]
    previous_ids = set(still_there["customer_id"])
    # A forwarding address always points at a live customer.
    assert set(history["customer_id"]) <= live
    merged = history[history["change_type"] == "merged"]
    assert previous_ids <= live | set(merged["previous_customer_id"])
    # A merged id is retired; a split leaves its previous id live.
    assert not set(merged["previous_customer_id"]) & live
    assert set(history.loc[history["change_type"] == "split", "previous_customer_id"]) <= live
    # People keep their id from one daily run to the next: only the crafted merge (and
    # the rare natural merge as new records link two clusters) retires an id.
    kept = len(previous_ids & live) / len(previous_ids)
    assert kept >= 0.99, f"only {kept:.2%} of yesterday's customer_ids survived"
