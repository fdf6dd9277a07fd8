"""Helpers of the dbt tests: the built world, reading the sandbox's own files, running dbt.

The expected values the tests compare with are read straight from the sandbox's files (the
POS SQLite database, the REST systems' document stores, `_truth/`), never from the models.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
MADRID = ZoneInfo("Europe/Madrid")
DBT_PROJECT = REPO / "dbt_project"
# Four weeks across a month boundary, so that retention has a month 1 to measure.
WORLD = {"customers": 800, "days": 28, "seed": 11, "start": date(2025, 9, 16)}
# A churn window that fits in four weeks; the default (90 days) would leave every
# outcome pending in this world. Every dbt call of the tests uses the same vars.
DBT_VARS = {"churn_window_days": 7}


@dataclass(frozen=True)
class BuiltWorld:
    sources: Path
    warehouse: Path
    dbt_log: str

    def query(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.sql(sql).df()

    @property
    def kpis(self) -> dict:
        return json.loads((self.sources / "_truth" / "kpis.json").read_text())

    @property
    def truth_identities(self) -> pd.DataFrame:
        return pd.read_parquet(self.sources / "_truth" / "identities.parquet")

    def pos(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.sources / "pos" / "pos.sqlite") as con:
            return con.execute(sql).fetchall()

    def docs(self, system: str, entity: str) -> list[dict]:
        """The JSON documents a REST system (crm, ecommerce) serves, from its own store."""
        from ingestion.sandbox.docstore import docstore_path

        with sqlite3.connect(docstore_path(self.sources, system)) as con:
            return [json.loads(doc) for (doc,) in con.execute(f"SELECT doc FROM {entity}")]

    def shop_docs(self, entity: str) -> list[dict]:
        return self.docs("ecommerce", entity)

    def file_records(self, system: str, prefix: str) -> list[dict]:
        """Every record of a file-based system (`clickstream`/`events`,
        `messaging`/`conversations`, …) straight from its gzip JSON-lines partitions."""
        records = []
        for path in sorted((self.sources / system).rglob(f"{prefix}-*.jsonl.gz")):
            with gzip.open(path, "rt") as lines:
                records.extend(json.loads(line) for line in lines)
        return records


def run_dbt(data_dir: Path, *args: str, **extra_vars) -> subprocess.CompletedProcess:
    """`dbt <args>` on the warehouse in `data_dir`, with the tests' vars plus `extra_vars`
    (e.g. `backfill_start`, `backfill_end`)."""
    env = {
        **os.environ,
        "OMNI_DATA_DIR": str(data_dir),
        "DBT_PROFILES_DIR": str(DBT_PROJECT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = Path(sys.executable).parent / "dbt"
    # Own target and log paths: the orchestration runs the same project at the same time.
    paths = ["--target-path", str(data_dir / "target"), "--log-path", str(data_dir / "logs")]
    dbt_vars = ["--vars", json.dumps({**DBT_VARS, **extra_vars})]
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(DBT_PROJECT), *paths, *dbt_vars],
        cwd=DBT_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class TrueOrder:
    person_id: str
    ordered_at: datetime  # aware
    landing_anonymous_id: str | None


def true_identifiable_orders(world: BuiltWorld) -> list[TrueOrder]:
    """Every non-cancelled order that carries something to recognise its buyer by (online
    orders always; store tickets with a loyalty card, a typed phone or a receipt email),
    with the person the generator knows bought it (`_truth/identities.parquet`), in time
    order. A ticket with none of these is anonymous to any warehouse, so KPIs per customer
    are compared with these orders, within a tolerance for what resolution still misses."""
    person = {
        (r.source_system, r.source_entity, str(r.source_record_id)): r.person_id
        for r in world.truth_identities.itertuples()
    }
    orders = []
    for order in world.shop_docs("orders"):
        who = person.get(("ecommerce", "orders", str(order["id"])))
        if who and not order.get("cancelled_at"):
            at = datetime.fromisoformat(order["created_at"].replace("Z", "+00:00"))
            orders.append(TrueOrder(who, at, order.get("landing_anonymous_id")))
    tickets = world.pos(
        "SELECT transaction_id, occurred_at FROM transactions WHERE "
        "coalesce(trim(loyalty_card), '') <> '' OR coalesce(trim(phone_typed), '') <> '' "
        "OR coalesce(trim(receipt_email), '') <> ''"
    )
    for ticket_id, local_time in tickets:
        if who := person.get(("pos", "transactions", str(ticket_id))):
            at = datetime.fromisoformat(local_time).replace(tzinfo=MADRID)
            orders.append(TrueOrder(who, at, None))
    return sorted(orders, key=lambda order: order.ordered_at)
