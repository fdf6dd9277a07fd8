"""Stock: daily on-hand per store and SKU (POS) and current levels per location (shop)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    iso = [d.isoformat() for d in days]
    n_days = len(days)
    per_day = n_stores * n_products
    # Repeated labels are taken from small dictionaries by index: no Python object per row.
    day_of_row = np.repeat(np.arange(n_days), per_day)
    store_of_row = np.tile(np.repeat(np.arange(n_stores), n_products), n_days)
    sku_of_row = np.tile(np.arange(n_products), n_days * n_stores)
    table = pa.table(
        {
            "snapshot_date": pc.take(pa.array(iso, pa.string()), day_of_row),
            "store_id": pc.take(pa.array(store_ids, pa.string()), store_of_row),
            "sku": pc.take(pa.array(skus, pa.string()), sku_of_row),
            "on_hand": pa.array(grid.reshape(-1), pa.int64()),
            "updated_at": pc.take(pa.array([f"{d} 23:00:00" for d in iso]), day_of_row),
        }
    )
    batch.add_pos_columns("inventory_daily", tuple(table.column_names), table)
    last = days[-1].isoformat() + "T21:30:00Z"
    for pi in range(n_products):
        for loc, qty in [(ONLINE_LOCATION, online[pi])] + [
            (store_ids[si], stock[si, pi]) for si in range(n_stores)
        ]:
            doc = {"sku": skus[pi], "location_id": loc, "available": int(qty), "updated_at": last}
            batch.add("ecommerce", "inventory_levels", last, f"{skus[pi]}|{loc}", doc)
    state.store_stock, state.online_stock = stock, online
