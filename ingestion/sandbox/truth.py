"""Ground truth: who every record belongs to, the true KPIs, and the manifest."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import docstore, pos_db
from .state import Ledger, WorldState

TRUTH_DIR = "_truth"


TRUTH_PARTS = Path("_world") / "truth_parts"


def add_identity_rows(out: Path, window: int, rows: pa.Table) -> None:
    """Park one window's identity rows on disk until the run merges them."""
    path = out / TRUTH_PARTS / f"part-{window:05d}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows, path, compression="zstd")


def update_identities(out: Path) -> dict[str, int]:
    """Merge the parked rows into ``identities.parquet``, one row per source record.

    DuckDB sorts and de-duplicates out of core, so tens of millions of rows (one per
    marketing delivery event) never sit in Python memory. Returns the identity counts.
    """
    path = out / TRUTH_DIR / "identities.parquet"
    parts = sorted((out / TRUTH_PARTS).glob("part-*.parquet"))
    sources = [p.as_posix() for p in parts] + ([path.as_posix()] if path.exists() else [])
    tmp = path.with_suffix(".parquet.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # it would flood the run's log
        con.execute("SET threads = 2")
        con.execute("SET memory_limit = '512MB'")
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"SET temp_directory = '{(out / '_world' / 'duckdb_tmp').as_posix()}'")
        if sources:
            con.execute(
                "COPY (SELECT DISTINCT ON (source_system, source_entity, source_record_id) *"
                " FROM read_parquet(?) ORDER BY source_system, source_entity,"
                " source_record_id, person_id)"
                f" TO '{tmp.as_posix()}' (FORMAT parquet, COMPRESSION zstd)",
                [sources],
            )
        else:
            con.execute(
                "COPY (SELECT ''::VARCHAR AS source_system, ''::VARCHAR AS source_entity,"
                " ''::VARCHAR AS source_record_id, ''::VARCHAR AS person_id LIMIT 0)"
                f" TO '{tmp.as_posix()}' (FORMAT parquet, COMPRESSION zstd)"
            )
        tmp.replace(path)
        records, persons = con.execute(
            "SELECT count(*), count(DISTINCT person_id) FROM read_parquet(?)", [path.as_posix()]
        ).fetchone()
    finally:
        con.close()
    for part in parts:
        part.unlink()
    return {"persons_with_records": int(persons), "records_with_person": int(records)}


def _money(x: float) -> float:
    return round(float(x) + 0.0, 2)


def compute_kpis(out: Path, state: WorldState, identity: dict[str, int]) -> dict:
    """True values as of the world's end (exclusive), from the generator's own ledger."""
    ledger = Ledger(out)
    cutoff = f"{state.end.isoformat()}T00:00:00Z"
    orders = ledger.read("orders")
    orders = orders[orders["ordered_at"] < cutoff].copy()
    cancelled = orders["cancelled_at"].notna() & (orders["cancelled_at"].fillna("~") < cutoff)
    adj = ledger.read("adjustments")
    adj = adj[adj["at"] < cutoff] if len(adj) else pd.DataFrame(columns=["order_id", "amount"])
    adj_sum = adj.groupby("order_id")["amount"].sum()
    orders["gross"] = orders["gross_revenue"].where(~cancelled, 0.0)
    orders["net"] = orders["gross"] - orders["order_id"].map(adj_sum).fillna(0.0).where(
        ~cancelled, 0.0
    )
    orders["month"] = orders["ordered_at"].str[:7]

    by_cm: dict[str, dict[str, dict]] = {}
    for (month, channel), g in orders.groupby(["month", "channel"], sort=True):
        by_cm.setdefault(month, {})[channel] = {
            "orders": len(g),
            "gross_revenue": _money(g["gross"].sum()),
            "net_revenue": _money(g["net"].sum()),
        }
    by_channel = {
        ch: {
            "orders": len(g),
            "gross_revenue": _money(g["gross"].sum()),
            "net_revenue": _money(g["net"].sum()),
        }
        for ch, g in orders.groupby("channel", sort=True)
    }
    buying = orders[~cancelled]
    channels_per_person = buying.groupby("person_id")["channel"].nunique()

    people = state.people
    exists = people["signup_at"].astype("datetime64[s]") < pd.Timestamp(state.end)
    segments = people.loc[exists, "segment"].value_counts().sort_index()
    buyers = set(buying["person_id"])
    buyer_segments = people.loc[people["person_id"].isin(buyers), "segment"].value_counts()

    pickups = ledger.read("pickups")
    if len(pickups):
        pickups = pickups[pickups["ready_at"] < cutoff]
        picked = int((pickups["picked_up_at"].fillna("~") < cutoff).sum())
        expired = int((pickups["expired_at"].fillna("~") < cutoff).sum())
    else:
        picked = expired = 0
    spend = ledger.read("spend")
    spend_by_channel = (
        {ch: _money(g["spend"].sum()) for ch, g in spend.groupby("channel", sort=True)}
        if len(spend)
        else {}
    )
    return {
        "as_of": cutoff,
        "currency": "EUR",
        "revenue_total": {
            "orders": len(orders),
            "gross_revenue": _money(orders["gross"].sum()),
            "net_revenue": _money(orders["net"].sum()),
            "cancelled_orders": int(cancelled.sum()),
        },
        "revenue_by_channel": by_channel,
        "revenue_by_month_channel": by_cm,
        "persons": int(exists.sum()),
        "households": int(people.loc[exists, "household_id"].nunique()),
        "customers_by_segment": {k: int(v) for k, v in segments.items()},
        "buyers_by_segment": {k: int(v) for k, v in sorted(buyer_segments.items())},
        "buyers": len(buyers),
        "buyers_by_channels_purchased": {
            str(k): int(v) for k, v in channels_per_person.value_counts().sort_index().items()
        },
        "persons_bought_in_2plus_channels": int((channels_per_person >= 2).sum()),
        "click_and_collect": {
            "pickups": len(pickups),
            "picked_up": picked,
            "expired": expired,
            "waiting": len(pickups) - picked - expired,
            "pickup_rate": round(picked / (picked + expired), 4) if picked + expired else None,
        },
        "spend_by_channel": spend_by_channel,
        "identity": identity,
    }


def row_counts(out: Path, state: WorldState) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for system, entities in docstore.ENTITIES.items():
        con = sqlite3.connect(docstore.docstore_path(out, system))
        counts[system] = {
            e: con.execute(f"SELECT count(*) FROM {e}").fetchone()[0] for e in entities
        }
        con.close()
    con = sqlite3.connect(pos_db.pos_path(out))
    counts["pos"] = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in pos_db.COLUMNS
    }
    con.close()
    for name, n in sorted(state.file_parts.items()):
        system, entity = name.split(".")
        counts.setdefault(system, {})[entity] = n
    return counts


def checksums(out: Path) -> dict[str, str]:
    sums = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel != f"{TRUTH_DIR}/manifest.json" and not rel.startswith("_world/"):
            with open(path, "rb") as f:  # streamed: the POS database can be gigabytes
                sums[rel] = hashlib.file_digest(f, "sha256").hexdigest()
    return sums


def write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
