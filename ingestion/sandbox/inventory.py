"""Stock: daily on-hand per store and SKU (POS) and current levels per location (shop)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from .records import Batch
from .state import WorldState

ONLINE_LOCATION = "WH-ONLINE"


def initial_stock(rng: np.random.Generator, stores: int, products: int):
    return rng.integers(8, 40, size=(stores, products)), rng.integers(150, 400, size=products)


def emit_inventory(
    state: WorldState, days: list[date], sales: pd.DataFrame, rng: np.random.Generator, batch: Batch
) -> None:
    stock, online = state.store_stock.copy(), state.online_stock.copy()
    n_stores, n_products = stock.shape
    store_ids = state.stores["store_id"].to_numpy()
    skus = state.products["sku"].to_numpy()
    day_index = {np.datetime64(d, "D"): k for k, d in enumerate(days)}
    sold = np.zeros((len(days), n_stores + 1, n_products), dtype=np.int64)
    if len(sales):
        k = np.array([day_index.get(d, -1) for d in sales["day"].to_numpy()])
        ok = k >= 0
        s = sales["store"].to_numpy()[ok]
        np.add.at(sold, (k[ok], np.where(s < 0, n_stores, s), sales["product"].to_numpy()[ok]),
                  sales["quantity"].to_numpy()[ok])  # fmt: skip
    snapshots = []
    for k, d in enumerate(days):
        stock = np.maximum(stock - sold[k, :n_stores], 0)
        online = np.maximum(online - sold[k, n_stores], 0)
        if d.weekday() == 0:  # Monday deliveries refill what runs low
            low = stock < 6
            stock = np.where(low, rng.integers(15, 45, size=stock.shape), stock)
            online = np.where(online < 60, rng.integers(250, 450, size=online.shape), online)
        snapshots.append(stock.copy())
    # One snapshot per day x store x SKU: built column-wise, millions of rows at scale.
    grid = np.stack(snapshots)  # (days, stores, products)
    iso = np.array([d.isoformat() for d in days], dtype=object)
    n_days = len(days)
    per_day = n_stores * n_products
    cols = [
        np.repeat(iso, per_day).tolist(),
        np.tile(np.repeat(store_ids, n_products), n_days).tolist(),
        np.tile(skus, n_days * n_stores).tolist(),
        grid.reshape(-1).tolist(),
        np.repeat(np.array([f"{d} 23:00:00" for d in iso], dtype=object), per_day).tolist(),
    ]
    batch.add_pos_columns(
        "inventory_daily", ("snapshot_date", "store_id", "sku", "on_hand", "updated_at"), cols
    )
    last = days[-1].isoformat() + "T21:30:00Z"
    for pi in range(n_products):
        for loc, qty in [(ONLINE_LOCATION, online[pi])] + [
            (store_ids[si], stock[si, pi]) for si in range(n_stores)
        ]:
            doc = {"sku": skus[pi], "location_id": loc, "available": int(qty), "updated_at": last}
            batch.add("ecommerce", "inventory_levels", last, f"{skus[pi]}|{loc}", doc)
    state.store_stock, state.online_stock = stock, online
