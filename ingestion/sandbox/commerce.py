"""Purchases: store tickets and online orders with their lines, pickups, refunds and returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import pos_db
from .mess import mess_emails, mess_phones
from .params import WorldParams
from .records import Batch
from .seasons import promo_discount
from .state import WorldState
from .timeutil import DAY, iso_z, local_naive, offsets_for, present

HOUR = np.timedelta64(3600, "s")


@dataclass
class Intents:
    """Who buys when and where; built by the simulation, turned into records here."""

    person: np.ndarray  # row positions in state.people
    ts: np.ndarray  # datetime64[s] UTC
    channel: np.ndarray  # store / web / app / phone / whatsapp
    first_sku: np.ndarray  # product position forced as first line, -1 for none
    checkout_id: np.ndarray  # abandoned checkout this order recovers, or None
    utm: np.ndarray  # (source, medium, campaign) tuple or None


@dataclass
class Purchases:
    """What the rest of the simulation needs to know about each purchase."""

    key: np.ndarray  # ticket id or order id
    person: np.ndarray
    ts: np.ndarray
    channel: np.ndarray
    skus: list[list[int]]
    customer_id: np.ndarray
    anon_id: np.ndarray
    name: np.ndarray  # '#1001' for orders, ticket id for tickets
    cancelled: np.ndarray
    utm: np.ndarray
    total: np.ndarray
    checkout_id: np.ndarray


def store_hours(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """UTC instants at random opening hours (10:00-21:30 Madrid) on datetime64[D] ``days``."""
    local_s = (rng.beta(2.2, 1.6, days.size) * 11.5 + 10) * 3600
    base = days.astype("datetime64[s]") + local_s.astype("timedelta64[s]")
    return base - offsets_for(days).astype("timedelta64[s]")


def _money(x: float) -> str:
    return f"{x:.2f}"


def _ticket_rows(batch: Batch, tx: list[tuple], is_store, keys, n_lines, line_off, line_skus,
                 line_qty, unit, amount) -> None:  # fmt: skip
    """Store tickets and their lines go straight to the POS as columns: they never change."""
    if not tx:
        return
    cols = [list(c) for c in zip(*tx, strict=True)]
    batch.add_pos_columns("transactions", pos_db.COLUMNS["transactions"], cols[:-1])
    batch.truth.append(("pos", "transactions", cols[0], cols[-1]))
    store = np.flatnonzero(is_store)
    counts = n_lines[store]
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    li = np.repeat(line_off[store], counts) + within
    line_no = within + 1
    batch.add_pos_columns(
        "transaction_lines",
        pos_db.COLUMNS["transaction_lines"],
        [
            np.repeat(keys[store], counts).tolist(),
            line_no.tolist(),
            line_skus[li].tolist(),
            line_qty[li].tolist(),
            unit[li].tolist(),
            amount[li].tolist(),
        ],
    )


def build_purchases(
    state: WorldState, params: WorldParams, intents: Intents, rng: np.random.Generator, batch: Batch
) -> tuple[Purchases, dict[str, pd.DataFrame]]:
    order = np.lexsort((intents.person, intents.ts))
    it = Intents(*(getattr(intents, f)[order] for f in Intents.__dataclass_fields__))
    n = it.person.size
    people, stores, products = state.people, state.stores, state.products
    beh, mess = params.behaviour, params.mess
    pcol = {c: people[c].to_numpy() for c in people.columns}
    prices = products["price"].to_numpy()
    pop = products["popularity"].to_numpy()
    skus, pids = products["sku"].to_numpy(), products["product_id"].to_numpy()

    n_lines = 1 + rng.poisson(0.9, n)
    n_lines = np.where(present(it.checkout_id), 1, n_lines)
    line_sku = rng.choice(len(products), size=int(n_lines.sum()), p=pop)
    line_qty = rng.choice([1, 2, 3], size=line_sku.size, p=[0.86, 0.11, 0.03])
    line_off = np.r_[0, np.cumsum(n_lines)]
    promo_day = np.array([promo_discount(d) for d in it.ts.astype("datetime64[D]").astype(object)])
    line_promo = np.repeat(promo_day, n_lines) * (rng.random(line_sku.size) < 0.5)
    first_pos = line_off[:-1]
    forced = it.first_sku >= 0
    line_sku[first_pos[forced]] = it.first_sku[forced]
    unit = np.round(prices[line_sku] * (1 - line_promo), 2)
    amount = np.round(unit * line_qty, 2)
    subtotal = np.round(np.add.reduceat(amount, first_pos), 2) if n else np.zeros(0)

    is_store = it.channel == "store"
    home = pcol["home_store"][it.person]
    store_idx = np.where(rng.random(n) < 0.85, home, rng.integers(0, len(stores), n))
    store_ids = stores["store_id"].to_numpy()
    store_phone = stores["phone"].to_numpy()

    # Occurrences of identifiers, each messed independently as real typists do.
    email_src = np.where(
        present(pcol["email2"][it.person]) & (rng.random(n) < 0.3),
        pcol["email2"][it.person],
        pcol["email"][it.person],
    )
    email_occ = mess_emails(email_src, rng, mess.email_variant)
    phone_occ = mess_phones(pcol["phone"][it.person], rng, mess.phone_not_e164)
    store_phone_occ = mess_phones(store_phone[store_idx], rng, mess.phone_not_e164)

    u = rng.random((n, 8))
    ticket_ids = state.next_ids("ticket", int(is_store.sum()))
    order_ids = state.next_ids("order", int((~is_store).sum()))
    keys = np.empty(n, dtype=object)
    keys[is_store] = [f"TK{x:09d}" for x in ticket_ids]
    keys[~is_store] = [str(5_500_000_000 + x) for x in order_ids]
    names = keys.copy()
    names[~is_store] = [f"#{1001 + x}" for x in order_ids]

    ts_iso = iso_z(it.ts)
    ts_local = local_naive(it.ts)
    return_day = (it.ts + (rng.uniform(1, 25, n) * 86400).astype("timedelta64[s]")).astype(
        "datetime64[D]"
    )
    return_ts = store_hours(rng, return_day)
    return_iso, return_local = iso_z(return_ts), local_naive(return_ts)
    # Click-and-collect happens while the shop is open: ready some hours after the order,
    # collected the same day or a few days later.
    ready_day = (it.ts + (rng.uniform(4, 40, n) * 3600).astype("timedelta64[s]")).astype(
        "datetime64[D]"
    )
    ready_ts = store_hours(rng, ready_day)
    ready_ts = np.where(ready_ts < it.ts + 2 * HOUR, ready_ts + DAY, ready_ts)
    pick_lag = np.minimum(np.floor(rng.gamma(1.1, 1.2, n)), 6).astype("timedelta64[D]")
    pick_ts = store_hours(rng, ready_ts.astype("datetime64[D]") + pick_lag)
    soon = ready_ts + (rng.uniform(15, 120, n) * 60).astype("timedelta64[s]")
    pick_ts = np.where(pick_ts <= ready_ts, soon, pick_ts)
    expire_ts = ready_ts + 7 * DAY
    refund_ts = it.ts + (rng.uniform(5, 25, n) * 86400).astype("timedelta64[s]")
    cancel_ts = it.ts + (rng.uniform(0.2, 20, n) * 3600).astype("timedelta64[s]")
    ready_iso, pick_iso, expire_iso = iso_z(ready_ts), iso_z(pick_ts), iso_z(expire_ts)
    ready_loc, pick_loc, expire_loc = (
        local_naive(ready_ts),
        local_naive(pick_ts),
        local_naive(expire_ts),
    )
    refund_iso, cancel_iso = iso_z(refund_ts), iso_z(cancel_ts)

    segment = pcol["segment"][it.person]
    cc_seg = np.isin(segment, ["cross", "omni"])
    ful_u = u[:, 0]
    fulfilment = np.where(
        ful_u < np.where(cc_seg, 0.50, 0.74),
        "ship",
        np.where(ful_u < np.where(cc_seg, 0.88, 0.93), "pickup_in_store", "ship_from_store"),
    )
    guest = ~present(pcol["shop_customer_id"][it.person]) | (u[:, 1] < mess.guest_checkout)
    customer_id = np.where(guest, None, pcol["shop_customer_id"][it.person])
    anon = np.where(
        it.channel == "app",
        pcol["anon_app"][it.person],
        np.where(
            present(pcol["anon_web2"][it.person]),
            np.where(u[:, 2] < 0.5, pcol["anon_web"][it.person], pcol["anon_web2"][it.person]),
            pcol["anon_web"][it.person],
        ),
    )
    anon = np.where(np.isin(it.channel, ["web", "app"]), anon, None)
    anon = np.where(
        ~present(anon), np.where(it.channel == "app", pcol["anon_web"][it.person], None), anon
    )
    anon = np.where(np.isin(it.channel, ["web", "app"]), anon, None)

    tx: list[tuple] = []
    returns, pickups, ledger_orders, ledger_adj, ledger_pick = [], [], [], [], []
    cancelled = np.zeros(n, dtype=bool)
    skus_out: list[list[int]] = []
    person_ids = pcol["person_id"][it.person]
    pay = np.where(u[:, 3] < 0.62, "card", np.where(u[:, 3] < 0.80, "mobile", "cash"))
    staff = rng.integers(1, 9, n)
    refund_full = u[:, 4] < 0.3
    return_ids = iter(state.next_ids("return", n))
    pickup_ids = iter(state.next_ids("pickup", n))
    refund_ids = iter(state.next_ids("refund", n))
    line_ids = iter(state.next_ids("line", int(n_lines.sum())))
    r_anon, r_kind, r_ids, r_ret, r_cancel = (rng.random(n) for _ in range(5))

    for i in range(n):
        sl = slice(line_off[i], line_off[i + 1])
        skus_i = line_sku[sl].tolist()
        skus_out.append(skus_i)
        pid = person_ids[i]
        gross = float(subtotal[i])
        if is_store[i]:
            sid = store_ids[store_idx[i]]
            loyalty = pcol["loyalty_id"][it.person[i]]
            card = phone = email = fp = None
            method = pay[i]
            if r_anon[i] < mess.anonymous_ticket:
                method = "cash" if r_kind[i] < 0.6 else method
            elif r_anon[i] < mess.anonymous_ticket + mess.store_phone_ticket:
                phone = store_phone_occ[i]  # the walk-in gave nothing; staff typed the shop's
            else:
                card = loyalty if loyalty is not None and r_ids[i] < 0.9 else None
                phone = phone_occ[i] if r_kind[i] < 0.3 else None
                email = email_occ[i] if u[i, 5] < 0.25 else None
                fp = pcol["card_fp"][it.person[i]] if method != "cash" else None
                if card is None and phone is None and email is None and fp is None:
                    method, fp = "card", pcol["card_fp"][it.person[i]]
            if method != "cash" and r_anon[i] >= mess.anonymous_ticket:
                fp = pcol["card_fp"][it.person[i]]
            tkey = keys[i]
            # Column order of pos_db.COLUMNS["transactions"].
            tx.append((tkey, sid, ts_local[i], card, phone, email, fp, method, gross,
                       f"{sid}-E{staff[i]:02d}", ts_local[i], pid))  # fmt: skip
            ledger_orders.append((tkey, pid, "store", "in_store", sid, ts_iso[i], gross, None))
            if r_ret[i] < beh.store_return_share:
                li = sl.start + int(u[i, 6] * (sl.stop - sl.start))
                rid = f"RT{next(return_ids):08d}"
                amt = float(unit[li])
                returns.append(
                    (
                        return_iso[i],
                        rid,
                        {
                            "return_id": rid,
                            "store_id": sid,
                            "returned_at": return_local[i],
                            "original_transaction_id": tkey,
                            "original_order_id": None,
                            "sku": skus[line_sku[li]],
                            "quantity": 1,
                            "refund_amount": amt,
                            "updated_at": return_local[i],
                        },
                        pid,
                    )
                )
                ledger_adj.append((tkey, return_iso[i], amt, "return"))
            continue

        # ---- online order (web, app, phone, whatsapp) ----
        ch = it.channel[i]
        ful = fulfilment[i]
        loc = store_ids[home[i]] if ful != "ship" else None
        discount = round(gross * 0.10, 2) if u[i, 7] < 0.12 else 0.0
        shipping = 3.95 if ful != "pickup_in_store" and gross < 50 else 0.0
        total = round(gross - discount, 2)
        remote = ch in ("phone", "whatsapp")
        email = email_occ[i] if not remote or r_kind[i] < 0.5 else None
        phone = phone_occ[i] if remote or r_ids[i] < 0.55 else None
        okey = keys[i]
        line_items = [
            {
                "id": str(9_000_000_000 + next(line_ids)),
                "sku": skus[line_sku[li]],
                "product_id": pids[line_sku[li]],
                "quantity": int(line_qty[li]),
                "price": _money(unit[li]),
            }
            for li in range(sl.start, sl.stop)
        ]
        doc = {
            "id": okey,
            "name": names[i],
            "customer_id": customer_id[i],
            "email": email,
            "phone": phone,
            "source_name": ch,
            "fulfillment_type": ful,
            "location_id": loc,
            "subtotal_price": _money(gross),
            "total_discounts": _money(discount),
            "total_shipping": _money(shipping),
            "total_price": _money(total),
            "currency": "EUR",
            "financial_status": "paid",
            "landing_anonymous_id": anon[i],
            "created_at": ts_iso[i],
            "updated_at": ts_iso[i],
            "cancelled_at": None,
            "line_items": line_items,
            "refunds": [],
        }
        versions = [(ts_iso[i], doc)]
        is_cancelled = r_cancel[i] < beh.cancel_share
        cancelled[i] = is_cancelled
        ledger_orders.append(
            (okey, pid, ch, ful, loc, ts_iso[i], total, cancel_iso[i] if is_cancelled else None)
        )
        if is_cancelled:
            versions.append(
                (
                    cancel_iso[i],
                    {
                        **doc,
                        "financial_status": "voided",
                        "cancelled_at": cancel_iso[i],
                        "updated_at": cancel_iso[i],
                    },
                )
            )
        else:
            if ful == "pickup_in_store":
                pk = f"PK{next(pickup_ids):08d}"
                never = r_ret[i] > 1 - beh.pickup_never_collected
                base = {
                    "pickup_id": pk,
                    "order_id": okey,
                    "store_id": loc,
                    "ready_at": ready_loc[i],
                    "picked_up_at": None,
                    "status": "ready",
                    "updated_at": ready_loc[i],
                }
                pickups.append((ready_iso[i], pk, base, pid))
                if never:
                    pickups.append(
                        (
                            expire_iso[i],
                            pk,
                            {**base, "status": "expired", "updated_at": expire_loc[i]},
                            pid,
                        )
                    )
                    ref = {
                        "id": str(6_600_000_000 + next(refund_ids)),
                        "created_at": expire_iso[i],
                        "amount": _money(total),
                        "reason": "not_collected",
                    }
                    versions.append(
                        (
                            expire_iso[i],
                            {
                                **doc,
                                "financial_status": "refunded",
                                "refunds": [ref],
                                "updated_at": expire_iso[i],
                            },
                        )
                    )
                    ledger_adj.append((okey, expire_iso[i], total, "refund"))
                    ledger_pick.append((okey, loc, ready_iso[i], None, expire_iso[i]))
                else:
                    pickups.append(
                        (
                            pick_iso[i],
                            pk,
                            {
                                **base,
                                "picked_up_at": pick_loc[i],
                                "status": "picked_up",
                                "updated_at": pick_loc[i],
                            },
                            pid,
                        )
                    )
                    ledger_pick.append((okey, loc, ready_iso[i], pick_iso[i], None))
            else:
                never = False
            if not never and r_ret[i] < beh.online_refund_share:
                li = sl.start + int(u[i, 6] * (sl.stop - sl.start))
                amt = total if refund_full[i] else min(float(unit[li]), total)
                ref = {
                    "id": str(6_600_000_000 + next(refund_ids)),
                    "created_at": refund_iso[i],
                    "amount": _money(amt),
                    "reason": "customer_return",
                }
                status = "refunded" if amt >= total else "partially_refunded"
                versions.append(
                    (
                        refund_iso[i],
                        {
                            **doc,
                            "financial_status": status,
                            "refunds": [ref],
                            "updated_at": refund_iso[i],
                        },
                    )
                )
                ledger_adj.append((okey, refund_iso[i], amt, "refund"))
            elif (
                not never
                and r_ret[i] < beh.online_refund_share + beh.online_return_in_store_share
                and ch in ("web", "app")
            ):
                li = sl.start + int(u[i, 6] * (sl.stop - sl.start))
                rid = f"RT{next(return_ids):08d}"
                amt = min(float(unit[li]), total)
                returns.append(
                    (
                        return_iso[i],
                        rid,
                        {
                            "return_id": rid,
                            "store_id": store_ids[home[i]],
                            "returned_at": return_local[i],
                            "original_transaction_id": None,
                            "original_order_id": okey,
                            "sku": skus[line_sku[li]],
                            "quantity": 1,
                            "refund_amount": amt,
                            "updated_at": return_local[i],
                        },
                        pid,
                    )
                )
                ledger_adj.append((okey, return_iso[i], amt, "return"))
        for vis, d in versions:
            batch.add("ecommerce", "orders", vis, okey, d, pid)

    _ticket_rows(batch, tx, is_store, keys, n_lines, line_off, skus[line_sku], line_qty, unit,
                 amount)  # fmt: skip
    for vis, key, doc, pid in returns:
        batch.add("pos", "returns", vis, key, doc, pid)
    for vis, key, doc, pid in pickups:
        batch.add("pos", "pickups", vis, key, doc, pid)

    ledgers = {
        "orders": pd.DataFrame(
            ledger_orders,
            columns=[
                "order_id",
                "person_id",
                "channel",
                "fulfilment",
                "store_id",
                "ordered_at",
                "gross_revenue",
                "cancelled_at",
            ],
        ),
        "adjustments": pd.DataFrame(ledger_adj, columns=["order_id", "at", "amount", "kind"]),
        "pickups": pd.DataFrame(
            ledger_pick, columns=["order_id", "store_id", "ready_at", "picked_up_at", "expired_at"]
        ),
        "sales": pd.DataFrame(
            {
                "store": np.repeat(np.where(is_store | (fulfilment != "ship"), home, -1), n_lines)
                if n
                else np.zeros(0, dtype=np.int64),
                "day": np.repeat(it.ts.astype("datetime64[D]"), n_lines),
                "product": line_sku,
                "quantity": line_qty,
            }
        ),
    }
    # Store tickets use the ticket's store, not the home store.
    if n:
        ledgers["sales"]["store"] = np.repeat(
            np.where(is_store, store_idx, np.where(fulfilment != "ship", home, -1)), n_lines
        )
    purchases = Purchases(
        key=keys,
        person=it.person,
        ts=it.ts,
        channel=it.channel,
        skus=skus_out,
        customer_id=np.where(is_store, None, customer_id),
        anon_id=anon,
        name=names,
        cancelled=cancelled,
        utm=it.utm,
        total=subtotal,
        checkout_id=it.checkout_id,
    )
    return purchases, ledgers
