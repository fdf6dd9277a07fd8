"""The POS DDL is portable: it loads into a real PostgreSQL, and so do the sandbox's rows."""

from __future__ import annotations

import sqlite3

import psycopg2
import pytest
from postgres_server import copy_pos

pytestmark = pytest.mark.postgres


def test_pos_ddl_and_rows_load_into_postgres(world, postgres):
    # A schema of its own, so this test and the ingestion one share the server, not tables.
    with psycopg2.connect(postgres.url) as pg, pg.cursor() as cur:
        cur.execute("create schema sandbox_ddl")
    url = f"{postgres.url}?options=-csearch_path%3Dsandbox_ddl"
    counts = copy_pos(world / "pos" / "pos.sqlite", url)
    lite = sqlite3.connect(world / "pos" / "pos.sqlite")
    with psycopg2.connect(url) as pg, pg.cursor() as cur:
        for table, n in counts.items():
            cur.execute(f"select count(*) from {table}")
            in_lite = lite.execute(f"select count(*) from {table}").fetchone()[0]
            assert cur.fetchone()[0] == n == in_lite
        assert counts["transactions"] > 0
        cur.execute("select sum(total_amount) from transactions")
        revenue_lite = lite.execute("select round(sum(total_amount), 2) from transactions")
        assert float(cur.fetchone()[0]) == pytest.approx(revenue_lite.fetchone()[0], abs=0.005)
        # the tills' local time survives as a naive timestamp
        cur.execute("select min(occurred_at) from transactions")
        first = cur.fetchone()[0]
    assert first.tzinfo is None
    assert (
        first.isoformat(sep=" ")
        == lite.execute("select min(occurred_at) from transactions").fetchone()[0]
    )
