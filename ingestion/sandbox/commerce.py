"""Purchases: store tickets and online orders with their lines, pickups, refunds and returns.

Everything is computed column-wise: one row per purchase, masks for what happens to it.
Store tickets and their lines go to the POS as Arrow tables; online orders become Arrow
tables of full order versions (placed, cancelled, refunded...) that ``materialize`` reduces
to the latest visible one per order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from . import pos_db
from .columns import money, strings
from .mess import mess_emails, mess_phones
from .params import WorldParams
from .records import Batch
from .seasons import promo_discount
from .state import WorldState
from .timeutil import DAY, iso_z, local_naive, offsets_for, present

HOUR = np.timedelta64(3600, "s")
MAX_SESSION_SKUS = 4  # the lines a shopper looked at before buying (sessions.MAX_SKUS)


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
    skus: np.ndarray  # (n, MAX_SESSION_SKUS) first product positions, padded with -1
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


def _promo(days: np.ndarray) -> np.ndarray:
    """``promo_discount`` per datetime64[D], computed once per distinct day."""
    uniq, inv = np.unique(days, return_inverse=True)
    return np.array([promo_discount(d) for d in uniq.astype(object)], dtype=float)[inv]


def _ranks(mask: np.ndarray) -> np.ndarray:
    """0, 1, 2... over the True positions of ``mask`` (ids handed out in purchase order)."""
    return np.cumsum(mask) - 1


def _first_skus(line_sku: np.ndarray, line_off: np.ndarray, n_lines: np.ndarray) -> np.ndarray:
    out = np.full((n_lines.size, MAX_SESSION_SKUS), -1, dtype=np.int64)
    for j in range(MAX_SESSION_SKUS):
        has = n_lines > j
        out[has, j] = line_sku[line_off[:-1][has] + j]
    return out


def _docs(columns: dict[str, np.ndarray]) -> list[dict]:
    """Row dicts of plain Python values (sqlite3 and JSON want no numpy scalars)."""
    names = list(columns)
    values = [c.tolist() for c in columns.values()]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _add_docs(batch: Batch, entity: str, visible: np.ndarray, keys: np.ndarray,
              persons: np.ndarray, columns: dict[str, np.ndarray]) -> None:  # fmt: skip
    for vis, key, pid, doc in zip(visible.tolist(), keys.tolist(), persons.tolist(),
                                  _docs(columns), strict=True):  # fmt: skip
        batch.add("pos", entity, vis, key, doc, pid)


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
    promo_day = _promo(it.ts.astype("datetime64[D]"))
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

    segment = pcol["segment"][it.person]
    cc_seg = np.isin(segment, ["cross", "omni"])
    ful_u = u[:, 0]
    fulfilment = np.where(
        ful_u < np.where(cc_seg, 0.50, 0.74),
        "ship",
        np.where(ful_u < np.where(cc_seg, 0.88, 0.93), "pickup_in_store", "ship_from_store"),
    ).astype(object)
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

    person_ids = pcol["person_id"][it.person]
    pay = np.where(u[:, 3] < 0.62, "card", np.where(u[:, 3] < 0.80, "mobile", "cash")).astype(
        object
    )
    staff = rng.integers(1, 9, n)
    refund_full = u[:, 4] < 0.3
    r_anon, r_kind, r_ids, r_ret, r_cancel = (rng.random(n) for _ in range(5))
    # The line a return or a partial refund is about.
    ret_line = first_pos + (u[:, 6] * n_lines).astype(np.int64)

    # ---- what happens to each purchase ----
    online = ~is_store
    cancelled = online & (r_cancel < beh.cancel_share)
    live = online & ~cancelled
    pickup = live & (fulfilment == "pickup_in_store")
    never = pickup & (r_ret > 1 - beh.pickup_never_collected)
    refund = live & ~never & (r_ret < beh.online_refund_share)
    web_app = np.isin(it.channel, ["web", "app"])
    online_return = (
        live & ~never & ~refund & web_app
        & (r_ret < beh.online_refund_share + beh.online_return_in_store_share)
    )  # fmt: skip
    store_return = is_store & (r_ret < beh.store_return_share)
    has_return = store_return | online_return

    location = np.where(is_store, store_ids[store_idx], None)
    location = np.where(online & (fulfilment != "ship"), store_ids[home], location)
    discount = np.where(u[:, 7] < 0.12, np.round(subtotal * 0.10, 2), 0.0)
    shipping = np.where((fulfilment != "pickup_in_store") & (subtotal < 50), 3.95, 0.0)
    total = np.where(is_store, subtotal, np.round(subtotal - discount, 2))
    refund_amount = np.where(refund_full, total, np.minimum(unit[ret_line], total))

    _tickets(batch, is_store, keys, store_ids[store_idx], ts_local, pcol, it.person, mess,
             r_anon, r_kind, r_ids, u[:, 5], pay, phone_occ, email_occ, store_phone_occ, subtotal,
             staff, person_ids)  # fmt: skip
    _ticket_lines(batch, is_store, keys, n_lines, line_off, skus[line_sku], line_qty, unit, amount)

    # ---- returns in store (of tickets and of online orders) ----
    r = np.flatnonzero(has_return)
    return_keys = np.array([f"RT{x:08d}" for x in state.next_ids("return", r.size)], dtype=object)
    # an in-store return gives back one unit, never more than the order was paid
    return_amount = np.where(is_store, unit[ret_line], np.minimum(unit[ret_line], total))
    return_local = local_naive(return_ts[r])
    _add_docs(batch, "returns", iso_z(return_ts[r]), return_keys, person_ids[r], {
        "return_id": return_keys,
        "store_id": np.where(is_store[r], location[r], store_ids[home[r]]),
        "returned_at": return_local,
        "original_transaction_id": np.where(is_store[r], keys[r], None),
        "original_order_id": np.where(is_store[r], None, keys[r]),
        "sku": skus[line_sku[ret_line[r]]],
        "quantity": np.ones(r.size, dtype=np.int64),
        "refund_amount": return_amount[r],
        "updated_at": return_local,
    })  # fmt: skip

    # ---- click-and-collect pickups: ready, then collected or expired ----
    pk = np.flatnonzero(pickup)
    pk_keys = np.array([f"PK{x:08d}" for x in state.next_ids("pickup", pk.size)], dtype=object)
    ready_loc = local_naive(ready_ts[pk])
    base = {
        "pickup_id": pk_keys,
        "order_id": keys[pk],
        "store_id": location[pk],
        "ready_at": ready_loc,
        "picked_up_at": np.full(pk.size, None, dtype=object),
        "status": np.full(pk.size, "ready", dtype=object),
        "updated_at": ready_loc,
    }
    _add_docs(batch, "pickups", iso_z(ready_ts[pk]), pk_keys, person_ids[pk], base)
    gone = never[pk]
    done_ts = np.where(gone, expire_ts[pk], pick_ts[pk])
    done_loc = local_naive(done_ts)
    _add_docs(batch, "pickups", iso_z(done_ts), pk_keys, person_ids[pk], {
        **base,
        "picked_up_at": np.where(gone, None, done_loc),
        "status": np.where(gone, "expired", "picked_up").astype(object),
        "updated_at": done_loc,
    })  # fmt: skip

    # ---- online orders: one Arrow table of full versions ----
    refunded = never | refund
    refund_ids = np.full(n, -1, dtype=np.int64)
    refund_ids[refunded] = state.next_ids("refund", int(refunded.sum()))
    _order_versions(batch, online, cancelled, never, refund, keys, names, customer_id,
                    email_occ, phone_occ, it.channel, fulfilment, location, subtotal, discount,
                    shipping, total, anon, ts_iso, iso_z(cancel_ts), iso_z(expire_ts),
                    iso_z(refund_ts), refund_ids, refund_amount, person_ids, r_kind, r_ids,
                    line_off, n_lines, skus[line_sku], pids[line_sku], line_qty, unit,
                    state)  # fmt: skip

    # ---- the generator's own books ----
    channel = it.channel.astype(object)
    ledger_orders = pd.DataFrame(
        {
            "order_id": keys,
            "person_id": person_ids,
            "channel": channel,
            "fulfilment": np.where(is_store, "in_store", fulfilment).astype(object),
            "store_id": location,
            "ordered_at": ts_iso.astype(object),
            "gross_revenue": total,
            "cancelled_at": np.where(cancelled, iso_z(cancel_ts), None),
        }
    )
    adj_at = np.where(never, iso_z(expire_ts), np.where(refund, iso_z(refund_ts),
                                                          iso_z(return_ts)))  # fmt: skip
    adj = never | refund | has_return
    adjustments = pd.DataFrame(
        {
            "order_id": keys[adj],
            "at": adj_at[adj].astype(object),
            "amount": np.where(never, total, np.where(refund, refund_amount, return_amount))[adj],
            "kind": np.where(has_return, "return", "refund")[adj].astype(object),
        }
    )
    ledger_pick = pd.DataFrame(
        {
            "order_id": keys[pk],
            "store_id": location[pk],
            "ready_at": iso_z(ready_ts[pk]).astype(object),
            "picked_up_at": np.where(gone, None, iso_z(pick_ts[pk])),
            "expired_at": np.where(gone, iso_z(expire_ts[pk]), None),
        }
    )
    sale_store = np.where(is_store, store_idx, np.where(fulfilment != "ship", home, -1))
    ledgers = {
        "orders": ledger_orders,
        "adjustments": adjustments,
        "pickups": ledger_pick,
        "sales": pd.DataFrame(
            {
                "store": np.repeat(sale_store, n_lines).astype(np.int64),
                "day": np.repeat(it.ts.astype("datetime64[D]"), n_lines),
                "product": line_sku,
                "quantity": line_qty,
            }
        ),
    }
    purchases = Purchases(
        key=keys,
        person=it.person,
        ts=it.ts,
        channel=it.channel,
        skus=_first_skus(line_sku, line_off, n_lines),
        customer_id=np.where(is_store, None, customer_id),
        anon_id=anon,
        name=names,
        cancelled=cancelled,
        utm=it.utm,
        total=subtotal,
        checkout_id=it.checkout_id,
    )
    return purchases, ledgers


def _tickets(batch, is_store, keys, store_of, ts_local, pcol, person, mess, r_anon, r_kind,
             r_ids, r_email, pay, phone_occ, email_occ, store_phone_occ, gross, staff,
             person_ids) -> None:  # fmt: skip
    """Store tickets, with whatever identifier the till captured (often none)."""
    s = np.flatnonzero(is_store)
    if not s.size:
        return
    who = person[s]
    anonymous = r_anon[s] < mess.anonymous_ticket
    # the walk-in gave nothing; staff typed the shop's own phone
    shop_phone = ~anonymous & (r_anon[s] < mess.anonymous_ticket + mess.store_phone_ticket)
    known = ~anonymous & ~shop_phone
    method = np.where(anonymous & (r_kind[s] < 0.6), "cash", pay[s]).astype(object)
    loyalty = pcol["loyalty_id"][who]
    card = np.where(known & present(loyalty) & (r_ids[s] < 0.9), loyalty, None)
    phone = np.where(shop_phone, store_phone_occ[s],
                     np.where(known & (r_kind[s] < 0.3), phone_occ[s], None))  # fmt: skip
    email = np.where(known & (r_email[s] < 0.25), email_occ[s], None)
    nothing = known & ~present(card) & ~present(phone) & ~present(email) & (method == "cash")
    method = np.where(nothing, "card", method).astype(object)  # a card paid: its fingerprint
    fp = np.where(~anonymous & (method != "cash"), pcol["card_fp"][who], None)
    sid = store_of[s]
    table = pa.table(
        {
            "transaction_id": strings(keys[s]),
            "store_id": strings(sid),
            "occurred_at": strings(ts_local[s].astype(object)),
            "loyalty_card": strings(card),
            "phone_typed": strings(phone),
            "receipt_email": strings(email),
            "card_fingerprint": strings(fp),
            "payment_method": strings(method),
            "total_amount": pa.array(gross[s], pa.float64()),
            "staff_id": strings(
                np.char.add(
                    np.char.add(sid.astype(str), "-E"), np.char.zfill(staff[s].astype(str), 2)
                )
            ),
            "updated_at": strings(ts_local[s].astype(object)),
        }
    )
    assert tuple(table.column_names) == pos_db.COLUMNS["transactions"]
    batch.add_pos_columns("transactions", pos_db.COLUMNS["transactions"], table)
    batch.truth.append(("pos", "transactions", table["transaction_id"], person_ids[s]))


def _ticket_lines(batch, is_store, keys, n_lines, line_off, line_skus, line_qty, unit,
                  amount) -> None:  # fmt: skip
    store = np.flatnonzero(is_store)
    if not store.size:
        return
    counts = n_lines[store]
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    li = np.repeat(line_off[store], counts) + within
    table = pa.table(
        {
            "transaction_id": strings(np.repeat(keys[store], counts)),
            "line_no": pa.array(within + 1, pa.int64()),
            "sku": strings(line_skus[li]),
            "quantity": pa.array(line_qty[li], pa.int64()),
            "unit_price": pa.array(unit[li], pa.float64()),
            "line_amount": pa.array(amount[li], pa.float64()),
        }
    )
    batch.add_pos_columns("transaction_lines", pos_db.COLUMNS["transaction_lines"], table)


ORDER_REFUND = pa.struct(
    [("id", pa.string()), ("created_at", pa.string()), ("amount", pa.string()),
     ("reason", pa.string())]
)  # fmt: skip


def _refund_lists(ids: np.ndarray, at: np.ndarray, amount: np.ndarray, reason: str) -> pa.Array:
    """One single-refund list per row."""
    m = ids.size
    refunds = pa.StructArray.from_arrays(
        [strings((6_600_000_000 + ids).astype(str).astype(object)), strings(at.astype(object)),
         strings(money(amount)), strings(np.full(m, reason, dtype=object))],
        fields=list(ORDER_REFUND),
    )  # fmt: skip
    return pa.ListArray.from_arrays(pa.array(np.arange(m + 1), pa.int32()), refunds)


def _order_versions(batch, online, cancelled, never, refund, keys, names, customer_id, email_occ,
                    phone_occ, channel, fulfilment, location, subtotal, discount, shipping, total,
                    anon, ts_iso, cancel_iso, expire_iso, refund_iso, refund_ids, refund_amount,
                    person_ids, r_kind, r_ids, line_off, n_lines, line_skus, line_pids, line_qty,
                    unit, state) -> None:  # fmt: skip
    """Every version of every online order: placed, then cancelled or refunded."""
    o = np.flatnonzero(online)
    if not o.size:
        return
    remote = np.isin(channel[o], ["phone", "whatsapp"])
    email = np.where(~remote | (r_kind[o] < 0.5), email_occ[o], None)
    phone = np.where(remote | (r_ids[o] < 0.55), phone_occ[o], None)
    counts = n_lines[o]
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    li = np.repeat(line_off[o], counts) + within
    line_ids = 9_000_000_000 + state.next_ids("line", li.size)
    items = pa.StructArray.from_arrays(
        [strings(line_ids.astype(str).astype(object)), strings(line_skus[li]),
         strings(line_pids[li]), pa.array(line_qty[li], pa.int64()), strings(money(unit[li]))],
        names=["id", "sku", "product_id", "quantity", "price"],
    )  # fmt: skip
    line_items = pa.ListArray.from_arrays(pa.array(np.r_[0, np.cumsum(counts)], pa.int32()), items)
    m = o.size
    placed = ts_iso[o].astype(object)
    nulls = np.full(m, None, dtype=object)
    base = {
        "_dt": strings(placed),
        "_key": strings(keys[o]),
        "_person": strings(person_ids[o]),
        "id": strings(keys[o]),
        "name": strings(names[o]),
        "customer_id": strings(customer_id[o]),
        "email": strings(email),
        "phone": strings(phone),
        "source_name": strings(channel[o]),
        "fulfillment_type": strings(fulfilment[o]),
        "location_id": strings(location[o]),
        "subtotal_price": strings(money(subtotal[o])),
        "total_discounts": strings(money(discount[o])),
        "total_shipping": strings(money(shipping[o])),
        "total_price": strings(money(total[o])),
        "currency": strings(np.full(m, "EUR", dtype=object)),
        "financial_status": strings(np.full(m, "paid", dtype=object)),
        "landing_anonymous_id": strings(anon[o]),
        "created_at": strings(placed),
        "updated_at": strings(placed),
        "cancelled_at": strings(nulls),
        "line_items": line_items,
        "refunds": pa.ListArray.from_arrays(
            pa.array(np.zeros(m + 1, dtype=np.int32)), pa.array([], ORDER_REFUND)
        ),
    }
    placed_table = pa.table(base)
    batch.add_table("ecommerce", "orders", placed_table)

    def later(mask: np.ndarray, at: np.ndarray, status, changes: dict) -> None:
        rows = np.flatnonzero(mask[o])
        if not rows.size:
            return
        when = strings(at[o][rows].astype(object))
        table = placed_table.take(pa.array(rows))
        status = status if isinstance(status, np.ndarray) else np.full(rows.size, status)
        changes = {
            "_dt": when,
            "financial_status": strings(status.astype(object)),
            "updated_at": when,
            **changes,
        }
        for name, col in changes.items():
            table = table.set_column(table.schema.get_field_index(name), name, col)
        batch.add_table("ecommerce", "orders", table)

    later(cancelled, cancel_iso, "voided", {"cancelled_at": strings(cancel_iso[cancelled])})
    later(never, expire_iso, "refunded", {
        "refunds": _refund_lists(refund_ids[never], expire_iso[never], total[never],
                                 "not_collected"),
    })  # fmt: skip
    partial = refund_amount < total
    later(refund, refund_iso,
          np.where(partial[refund], "partially_refunded", "refunded"), {
              "refunds": _refund_lists(refund_ids[refund], refund_iso[refund],
                                       refund_amount[refund], "customer_return"),
          })  # fmt: skip
