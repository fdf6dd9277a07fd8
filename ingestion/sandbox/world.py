"""``generate`` and ``advance``: build a sandbox world and move it on, deterministically."""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .assortment import make_products, make_stores, store_count
from .crm import assign_spellings
from .db_writer import DbWriter
from .filerows import FileRows
from .files import FileWriter
from .inventory import initial_stock
from .materialize import materialize
from .memory import run_memory
from .mess import mailbox_keys
from .params import BehaviourRates, MessRates, WorldParams
from .people import make_people
from .records import Batch
from .simulate import Window
from .state import Ledger, Pending, WorldState, as_objects
from .timeutil import daterange, day_start
from .truth import (
    TRUTH_DIR,
    add_identity_rows,
    checksums,
    compute_kpis,
    row_counts,
    update_identities,
    write_json,
)

log = logging.getLogger(__name__)

OUTPUT_DIRS = (
    "crm",
    "ecommerce",
    "pos",
    "clickstream",
    "messaging",
    "marketing",
    TRUTH_DIR,
    "_world",
)
PRODUCTS = 150
CHUNK_DAYS = 10  # simulate and write ten days at a time: memory stays flat, writes overlap
# Bigger worlds take shorter chunks, so that one chunk's records (memory) stay bounded; file
# rows are spilled as they come (``records.SPILL_ROWS``), so a chunk can hold a few days
# even at a million customers, and every chunk costs a pass over the whole population.
CHUNK_PERSON_DAYS = 3_000_000
# The first chunk also writes every pre-existing person's records: it stays short.
FIRST_CHUNK_PERSON_DAYS = 1_000_000


def chunk_days(customers: int, first: bool = False) -> int:
    """Days per simulation chunk: ``CHUNK_DAYS`` up to 300k customers, fewer above."""
    budget = FIRST_CHUNK_PERSON_DAYS if first else CHUNK_PERSON_DAYS
    return max(1, min(CHUNK_DAYS, budget // max(customers, 1)))


def chunked(days: list[date], customers: int, first: bool) -> list[list[date]]:
    """``days`` cut into simulation chunks (a shorter first one when ``first``)."""
    head = chunk_days(customers, first=True) if first else 0
    size = chunk_days(customers)
    rest = days[head:]
    return [days[:head]] * bool(head) + [rest[k : k + size] for k in range(0, len(rest), size)]


MANIFEST_VERSION = 1


def _params_from(args: dict) -> WorldParams:
    p = args.get("params") or {}
    return WorldParams(
        mess=MessRates(**p.get("mess", {})), behaviour=BehaviourRates(**p.get("behaviour", {}))
    )


def _base_records(state: WorldState, batch: Batch) -> None:
    """Stores and products exist before the first day."""
    for s in state.stores.to_dict("records"):
        visible = f"{s['opened_on']}T08:00:00Z"
        batch.add("pos", "stores", visible, s["store_id"], s)
    for p in state.products.to_dict("records"):
        doc = {
            "id": p["product_id"],
            "sku": p["sku"],
            "title": p["title"],
            "category": p["category"],
            "price": f"{p['price']:.2f}",
            "created_at": p["created_at"],
            "updated_at": p["created_at"],
        }
        batch.add("ecommerce", "products", p["created_at"], p["product_id"], doc)


def _new_people(state: WorldState, params: WorldParams, rng, n: int, start: date, days: int,
                pre_existing: float) -> pd.DataFrame:  # fmt: skip
    hh = state.counters["household"]
    taken: set[str] = set()
    if state.people is not None:
        for col in ("email", "email2"):
            taken.update(mailbox_keys(state.people[col].dropna()))
    people = make_people(
        rng, n, len(state.people) if state.people is not None else 0, start, days, pre_existing,
        state.stores, params, hh, taken,
    )  # fmt: skip
    state.counters["household"] = hh + people["household_id"].nunique()
    people["archived_at"] = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    assign_spellings(people, rng, params, day_start(start))
    return as_objects(people)


def _simulate(out: Path, state: WorldState, params: WorldParams, days: list[date],
              first: bool, last: bool, file_rows: FileRows, db: DbWriter,
              pending: Pending) -> None:  # fmt: skip
    """Simulate ``days`` and write them, parking the window's ground-truth identity rows."""
    window = Window(state, params, days, int(state.args["seed"]))
    # Set before the run: rows spilled mid-window are cut at the window's end like the rest.
    state.end = days[-1] + timedelta(days=1)
    file_rows.begin_window(window.window_index, days[0].isoformat(), state.end)
    window.batch.spill = file_rows.submit
    batch, ledgers = window.run(first_window=first, last_window=last)
    if first:
        _base_records(state, batch)
    ledger = Ledger(out)
    for name, df in ledgers.items():
        ledger.append(name, window.window_index, df)
    spend = pd.DataFrame([v.doc for v in batch.versions.get(("marketing", "spend"), [])])
    ledger.append("spend", window.window_index, spend)
    rows = materialize(out, state, batch, days[0].isoformat(), file_rows, db, pending)
    add_identity_rows(out, window.window_index, rows)
    state.counters["window"] += 1


def _run(out: Path, state: WorldState, params: WorldParams, days: list[date], first: bool) -> dict:
    """Simulate ``days`` in chunks (bounded memory), then write state, truth and manifest."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    chunks = [c for c in chunked(days, int(state.args["customers"]), first) if c]
    # Writers for the whole run: a month is written while the next one is simulated.
    pending = Pending(out)
    with (
        FileWriter() as writer,
        DbWriter(out) as db,
        FileRows(out, state, writer, pending.tables) as file_rows,
    ):
        for k, chunk in enumerate(chunks):
            last = k == len(chunks) - 1
            _simulate(out, state, params, chunk, first and k == 0, last, file_rows, db, pending)
            # CPU of every thread too: on a shared machine the wall clock says little.
            log.info("simulated %s..%s (chunk %d of %d, %.1f s so far, %.1f s CPU)",
                     chunk[0], chunk[-1], k + 1, len(chunks), time.perf_counter() - t0,
                     time.process_time() - cpu0)  # fmt: skip
    pending.flush()
    # The people table goes to Parquet while DuckDB merges the identity truth.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-save") as pool:
        saved = pool.submit(state.save, out)
        identity = update_identities(out)
        write_json(out / TRUTH_DIR / "kpis.json", compute_kpis(out, state, identity))
        saved.result()
    manifest = {
        "generator": "omni-sandbox",
        "manifest_version": MANIFEST_VERSION,
        "profile": state.args["profile"],
        "args": {k: v for k, v in state.args.items() if k != "params"},
        "params": state.args.get("params"),
        "start_date": state.start.isoformat(),
        "end_date": (state.end - timedelta(days=1)).isoformat(),
        "days": (state.end - state.start).days,
        "advances": state.args.get("advances", []),
        "row_counts": row_counts(out, state),
        "files": checksums(out),
    }
    write_json(out / TRUTH_DIR / "manifest.json", manifest)
    log.info(
        "sandbox world %s now runs %s..%s (%.1f s)",
        out, manifest["start_date"], manifest["end_date"], time.perf_counter() - t0,
    )  # fmt: skip
    return manifest


def generate(
    out: Path,
    customers: int,
    days: int,
    seed: int,
    start: date = date(2025, 9, 1),
    profile: str = "retail",
    scale: float = 1.0,
    params: WorldParams | None = None,
) -> dict:
    """Write a complete sandbox retailer under ``out``; returns the manifest.

    Same arguments, same bytes: everything is drawn from a numpy Generator seeded by
    ``seed`` and no wall-clock time is used.
    """
    out = Path(out)
    if profile == "tpcds":
        from .tpcds import generate_tpcds

        return generate_tpcds(
            out, customers=customers, days=days, seed=seed, start=start, scale=scale
        )
    if profile != "retail":
        raise ValueError(f"unknown sandbox profile {profile!r} (use 'retail' or 'tpcds')")
    if customers < 1 or days < 1:
        raise ValueError("a sandbox world needs at least one customer and one day")
    params = params or WorldParams()
    for name in OUTPUT_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    log.info("generating sandbox retailer: %d customers, %d days from %s, seed %d -> %s",
             customers, days, start, seed, out)  # fmt: skip
    rng = np.random.default_rng([seed, 0])
    stores = make_stores(rng, store_count(customers), start)
    products = make_products(rng, PRODUCTS, start)
    stock, online = initial_stock(rng, len(stores), len(products))
    args = {
        "customers": customers,
        "days": days,
        "seed": seed,
        "start": start.isoformat(),
        "profile": profile,
        "scale": scale,
        "params": params.to_dict(),
        "advances": [],
    }
    state = WorldState(args, start, start, None, stores, products, stock, online)  # type: ignore[arg-type]
    pre_existing = 1.0 - min(0.5, 0.0025 * days)
    with run_memory():
        state.people = _new_people(state, params, rng, customers, start, days, pre_existing)
        return _run(out, state, params, daterange(start, days), first=True)


def advance(out: Path, days: int) -> dict:
    """Move the world under ``out`` on by ``days`` days; returns the new manifest."""
    out = Path(out)
    if days < 1:
        raise ValueError("advance needs at least one day")
    state = WorldState.load(out)
    if state.args.get("profile") != "retail":
        raise ValueError("only the retail profile can be advanced")
    params = _params_from(state.args)
    window_start = state.end
    log.info("advancing sandbox world %s by %d days from %s", out, days, window_start)
    rng = np.random.default_rng([int(state.args["seed"]), state.counters["window"], 1])
    n_new = int(rng.poisson(state.args["customers"] * params.behaviour.new_people_per_day * days))
    with run_memory():
        if n_new:
            fresh = _new_people(state, params, rng, n_new, window_start, days, 0.0)
            state.people = as_objects(pd.concat([state.people, fresh], ignore_index=True))
        state.args["advances"] = [*state.args.get("advances", []), days]
        return _run(out, state, params, daterange(window_start, days), first=False)


__all__ = ["advance", "generate"]
