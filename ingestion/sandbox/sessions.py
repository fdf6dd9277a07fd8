"""Clickstream: web and app sessions turned into events, with logins and late arrivals.

Sessions are collected as columns and rendered without a per-event Python loop: every
session has the same template of at most 12 steps (open, search, up to four product views,
up to four add-to-carts, checkout, order) plus an optional login slotted in after the first
or second step, so the events are a masked flattening of an (sessions x steps) grid.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import iso_utc, padded_ids, strings
from .records import Batch
from .state import WorldState

SEARCH_TERMS = ["zapatillas", "vestido", "regalo", "auriculares", "sartén", "mochila", "crema"]
MAX_SKUS = 4  # product views per session
FIELDS = ("person", "platform", "anon_id", "start", "user_id", "utm", "skus", "cart",
          "checkout", "order_id", "order_ts")  # fmt: skip
# Step template: (event type, path code) per slot; path codes resolved in ``_paths``.
SLOT_TYPES = np.array(
    ["open", "search", *["product_view"] * MAX_SKUS, *["add_to_cart"] * MAX_SKUS,
     "checkout_started", "order_completed", "login"], dtype=object,
)  # fmt: skip
LOGIN_SLOT = len(SLOT_TYPES) - 1
PLATFORM_BASE = {"web": "https://www.tiendaomni.es", "app": "app://omni"}


def pad_skus(skus: list) -> np.ndarray:
    """Lists of product positions as a (n, MAX_SKUS) array padded with -1."""
    out = np.full((len(skus), MAX_SKUS), -1, dtype=np.int64)
    for i, s in enumerate(skus):
        s = list(s)[:MAX_SKUS]
        out[i, : len(s)] = s
    return out


class SessionSpecs:
    """Sessions to render, appended by the simulation steps one by one or as columns."""

    def __init__(self) -> None:
        self._blocks: list[dict[str, np.ndarray]] = []
        self._rows: list[tuple] = []

    def add(self, person, platform, anon_id, start, user_id, utm, skus, cart, checkout,
            order_id=None, order_ts=None):  # fmt: skip
        self._rows.append((person, platform, anon_id, start, user_id, utm, skus, cart, checkout,
                           order_id, order_ts))  # fmt: skip

    def add_many(self, **cols: np.ndarray) -> None:
        """Columns named as ``FIELDS``; ``skus`` padded (see ``pad_skus``), ``order_ts`` NaT."""
        self._flush()
        if len(cols["person"]):
            self._blocks.append(cols)

    def _flush(self) -> None:
        if not self._rows:
            return
        cols = list(zip(*self._rows, strict=True))
        self._rows = []
        block = {f: _objects(v) for f, v in zip(FIELDS, cols, strict=True)}
        block["person"] = np.array(cols[0], dtype=np.int64)
        block["start"] = np.array(cols[3], dtype="datetime64[s]")
        block["skus"] = pad_skus(cols[6])
        block["cart"] = np.array(cols[7], dtype=bool)
        block["checkout"] = np.array(cols[8], dtype=bool)
        block["order_ts"] = np.array(
            [np.datetime64("NaT") if t is None else t for t in cols[10]], dtype="datetime64[s]"
        )
        self._blocks.append(block)

    def columns(self) -> dict[str, np.ndarray]:
        self._flush()
        if not self._blocks:
            return {}
        return {f: np.concatenate([b[f] for b in self._blocks]) for f in FIELDS}


def _objects(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def render_sessions(
    state: WorldState,
    specs: SessionSpecs,
    rng: np.random.Generator,
    late_share: float,
    batch: Batch,
) -> int:
    """Write every session's events into ``batch``; returns the number of events."""
    c = specs.columns()
    if not c:
        return 0
    n = c["person"].size
    skus = state.products["sku"].to_numpy()
    start_s = c["start"].astype("datetime64[s]").astype(np.int64)
    has_order = ~np.isnat(c["order_ts"])
    order_s = c["order_ts"].astype(np.int64)
    gaps = rng.uniform(8, 150, size=(n, 16)).astype(np.int64)
    u = rng.random((n, 3))

    # Which template slots each session uses, and where a login goes.
    n_sku = (c["skus"] >= 0).sum(axis=1)
    k = np.arange(MAX_SKUS)
    used = np.zeros((n, LOGIN_SLOT), dtype=bool)
    used[:, 0] = True
    used[:, 1] = u[:, 1] < 0.4
    used[:, 2 : 2 + MAX_SKUS] = k < n_sku[:, None]
    used[:, 2 + MAX_SKUS : 2 + 2 * MAX_SKUS] = (k < n_sku[:, None]) & c["cart"][:, None]
    used[:, LOGIN_SLOT - 2] = c["checkout"]
    used[:, LOGIN_SLOT - 1] = c["order_id"] != None  # noqa: E711 - elementwise on objects
    logs_in = c["user_id"] != None  # noqa: E711
    steps = used.sum(axis=1)
    login_pos = np.minimum(1 + (u[:, 0] * 2).astype(np.int64), steps)
    ordinal = used.cumsum(axis=1) - 1
    pos_grid = ordinal + (logs_in[:, None] & (ordinal >= login_pos[:, None]))

    sess, slot = np.nonzero(used)
    pos = pos_grid[sess, slot]
    li = np.flatnonzero(logs_in)
    sess = np.concatenate([sess, li])
    slot = np.concatenate([slot, np.full(li.size, LOGIN_SLOT)])
    pos = np.concatenate([pos, login_pos[li]])
    # Events in session order (by start, then person), then step order.
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((c["person"], start_s))] = np.arange(n)
    order = np.lexsort((pos, rank[sess]))
    sess, slot, pos = sess[order], slot[order], pos[order]

    total = steps + logs_in
    offsets = np.concatenate([np.zeros((n, 1), np.int64), gaps.cumsum(axis=1)], axis=1)
    last = offsets[np.arange(n), total - 1]
    t0 = np.where(has_order, order_s - last, start_s)
    ts = (t0[sess] + offsets[sess, pos]).astype("datetime64[s]")

    sku_pos = np.where(
        (slot >= 2) & (slot < 2 + 2 * MAX_SKUS),
        c["skus"][sess, (slot - 2) % MAX_SKUS],
        -1,
    )
    platform = c["platform"][sess]
    etype = SLOT_TYPES[slot]
    etype = np.where(etype == "open", np.where(platform == "app", "app_open", "page_view"), etype)
    term = np.array([f"/buscar?q={t}" for t in SEARCH_TERMS], dtype=object)[
        (u[sess, 2] * len(SEARCH_TERMS)).astype(np.int64)
    ]
    product_path = np.array([f"/p/{s.lower()}" for s in skus], dtype=object)
    fixed = {"open": "/", "add_to_cart": "/carrito", "checkout_started": "/checkout",
             "order_completed": "/checkout/gracias", "login": "/cuenta/login"}  # fmt: skip
    path = np.array([fixed.get(t, "") for t in SLOT_TYPES], dtype=object)[slot]
    path = np.where(slot == 1, term, path)
    path = np.where(SLOT_TYPES[slot] == "product_view", product_path[sku_pos], path)
    base = pa.array([PLATFORM_BASE["web"], PLATFORM_BASE["app"]]).take(
        pa.array((platform == "app").astype(np.int8))
    )
    user = np.where(logs_in[sess] & (pos >= login_pos[sess]), c["user_id"][sess], None)
    utm = c["utm"][sess]
    utm_parts = [
        np.array([None if t is None else t[j] for t in c["utm"]], dtype=object)[sess]
        for j in range(3)
    ]
    del utm

    m = ts.size
    late = rng.random(m) < late_share
    delay = np.where(late, rng.integers(1, 4, m), 0).astype("timedelta64[D]")
    arrival = ts.astype("datetime64[D]") + delay
    dt = pc.cast(pa.array(arrival.astype(np.int32), pa.int32()).cast(pa.date32()), pa.string())
    event_id = padded_ids("ev", state.next_ids("event", m), 11)
    table = pa.table(
        {
            "_dt": dt,
            "_key": event_id,
            "_person": state.arrow_column("person_id").take(c["person"][sess]),
            "event_id": event_id,
            "anonymous_id": strings(c["anon_id"]).take(sess),
            "user_id": strings(user),
            "platform": strings(platform),
            "event_type": strings(etype),
            "page_url": pc.binary_join_element_wise(base, strings(path), ""),
            "sku": strings(np.where(sku_pos >= 0, skus[np.maximum(sku_pos, 0)], None)),
            "order_id": strings(np.where(slot == LOGIN_SLOT - 1, c["order_id"][sess], None)),
            "utm_source": strings(utm_parts[0]),
            "utm_medium": strings(utm_parts[1]),
            "utm_campaign": strings(utm_parts[2]),
            "occurred_at": iso_utc(ts),
        }
    )
    batch.add_table("clickstream", "events", table)
    return m
