"""Clickstream: web and app sessions turned into events, with logins and late arrivals."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate

import numpy as np

from .records import Batch, Version
from .state import WorldState
from .timeutil import iso_z

SEARCH_TERMS = ["zapatillas", "vestido", "regalo", "auriculares", "sartén", "mochila", "crema"]


@dataclass
class SessionSpecs:
    """Sessions to render; one entry per session, appended by the simulation steps."""

    person: list[int] = field(default_factory=list)
    platform: list[str] = field(default_factory=list)
    anon_id: list[str] = field(default_factory=list)
    start: list[np.datetime64] = field(default_factory=list)
    user_id: list[str | None] = field(default_factory=list)  # set after a login event
    utm: list[tuple | None] = field(default_factory=list)
    skus: list[list[int]] = field(default_factory=list)
    cart: list[bool] = field(default_factory=list)
    checkout: list[bool] = field(default_factory=list)
    order_id: list[str | None] = field(default_factory=list)
    order_ts: list[np.datetime64 | None] = field(default_factory=list)

    def add(self, person, platform, anon_id, start, user_id, utm, skus, cart, checkout,
            order_id=None, order_ts=None):  # fmt: skip
        self.person.append(person)
        self.platform.append(platform)
        self.anon_id.append(anon_id)
        self.start.append(start)
        self.user_id.append(user_id)
        self.utm.append(utm)
        self.skus.append(skus)
        self.cart.append(cart)
        self.checkout.append(checkout)
        self.order_id.append(order_id)
        self.order_ts.append(order_ts)


def render_sessions(
    state: WorldState,
    specs: SessionSpecs,
    rng: np.random.Generator,
    late_share: float,
    batch: Batch,
) -> int:
    """Write every session's events into ``batch``; returns the number of events."""
    n = len(specs.person)
    if n == 0:
        return 0
    skus = state.products["sku"].to_numpy()
    person_ids = state.people["person_id"].to_numpy()
    # Plain integer seconds: numpy scalar arithmetic per event would dominate the run time.
    start_s = np.array(specs.start, dtype="datetime64[s]").astype(np.int64)
    order_s = np.array(
        [np.datetime64("NaT") if t is None else t for t in specs.order_ts], dtype="datetime64[s]"
    )
    has_order = ~np.isnat(order_s)
    order_s = order_s.astype(np.int64)
    order = np.lexsort((np.array(specs.person), start_s)).tolist()
    rows: list[tuple] = []  # (epoch seconds, event dict without ts/id, person_id)
    gaps = rng.uniform(8, 150, size=(n, 16)).astype(np.int64).tolist()
    u = rng.random((n, 3)).tolist()
    for i in order:
        plat = specs.platform[i]
        base = "app://omni" if plat == "app" else "https://www.tiendaomni.es"
        utm = specs.utm[i] or (None, None, None)
        steps: list[tuple[str, str, int | None, str | None]] = []
        steps.append(("app_open" if plat == "app" else "page_view", "/", None, None))
        login_at = None
        if specs.user_id[i] is not None:
            login_at = 1 + int(u[i][0] * 2)
        if u[i][1] < 0.4:
            term = SEARCH_TERMS[int(u[i][2] * len(SEARCH_TERMS))]
            steps.append(("search", f"/buscar?q={term}", None, None))
        for s in specs.skus[i]:
            steps.append(("product_view", f"/p/{skus[s].lower()}", s, None))
        if specs.cart[i]:
            for s in specs.skus[i]:
                steps.append(("add_to_cart", "/carrito", s, None))
        if specs.checkout[i]:
            steps.append(("checkout_started", "/checkout", None, None))
        if specs.order_id[i] is not None:
            steps.append(("order_completed", "/checkout/gracias", None, specs.order_id[i]))
        if login_at is not None:
            steps.insert(min(login_at, len(steps)), ("login", "/cuenta/login", None, None))
        steps = steps[:16]
        offsets = [0, *accumulate(gaps[i][: len(steps) - 1])]
        t0 = int(order_s[i]) - offsets[-1] if has_order[i] else int(start_s[i])
        user = None
        for k, (etype, path, sku, order_id) in enumerate(steps):
            if etype == "login":
                user = specs.user_id[i]
            rows.append(
                (
                    t0 + offsets[k],
                    {
                        "anonymous_id": specs.anon_id[i],
                        "user_id": user,
                        "platform": plat,
                        "event_type": etype,
                        "page_url": base + path,
                        "sku": None if sku is None else skus[sku],
                        "order_id": order_id,
                        "utm_source": utm[0],
                        "utm_medium": utm[1],
                        "utm_campaign": utm[2],
                    },
                    person_ids[specs.person[i]],
                )
            )
    ts = np.array([r[0] for r in rows], dtype=np.int64).astype("datetime64[s]")
    ts_iso = iso_z(ts)
    late = rng.random(ts.size) < late_share
    delay = np.where(late, rng.integers(1, 4, ts.size), 0).astype("timedelta64[D]")
    dt = np.datetime_as_string(ts.astype("datetime64[D]") + delay, unit="D")
    ids = state.next_ids("event", ts.size).tolist()
    out = batch.versions[("clickstream", "events")]
    for (_, ev, pid), n_id, at, part in zip(rows, ids, ts_iso.tolist(), dt.tolist(), strict=True):
        eid = f"ev{n_id:011d}"
        out.append(Version(part, eid, {"event_id": eid, **ev, "occurred_at": at}, pid))
    return ts.size
