"""Stock: daily on-hand per store and SKU (POS) and current levels per location (shop)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .columns import constant, strings
from .records import Batch
from .state import WorldState

ONLINE_LOCATION = "WH-ONLINE"


def initial_stock(rng: np.random.Generator, stores: int, products: int):
    return rng.integers(8, 40, size=(stores, products)), rng.integers(150, 400, size=products)


def _levels(day: date, skus, store_ids, stock: np.ndarray, online: np.ndarray) -> pa.Table:
    """Current availability per SKU and location (the online warehouse first, then stores)."""
    n_products = skus.size
    locations = np.r_[np.array([ONLINE_LOCATION], dtype=object), store_ids].astype(object)
    qty = np.column_stack([online, stock.T])  # (products, locations)
    sku = np.repeat(skus.astype(object), locations.size)
    loc = np.tile(locations, n_products)
    keys = pc.binary_join_element_wise(strings(sku), strings(loc), "|")
    n = sku.size
    return pa.table(
        {
            "_dt": constant(day.isoformat() + "T21:30:00Z", n),
            "_key": keys,
            "_person": pa.nulls(n, pa.string()),
            "sku": strings(sku),
            "location_id": strings(loc),
            "available": pa.array(qty.reshape(-1), pa.int64()),
            "updated_at": constant(day.isoformat() + "T21:30:00Z", n),
        }
    )


def emit_inventory(
    state: WorldState,
    days: list[date],
    sales: pd.DataFrame,
    rng: np.random.Generator,
    batch: Batch,
    levels: bool = True,
) -> None:
    """Daily stock snapshots for the POS; with ``levels``, the shop's current availability
    too (only the run's last chunk needs it: earlier versions would be overwritten)."""
    stock, online = state.store_stock.copy(), state.online_stock.copy()
    n_stores, n_products = stock.shape
    store_ids = state.stores["store_id"].to_numpy()
    skus = state.products["sku"].to_numpy()
    sold = np.zeros((len(days), n_stores + 1, n_products), dtype=np.int64)
    if len(sales):
        offset = sales["day"].to_numpy().astype("datetime64[D]") - np.datetime64(days[0], "D")
        k = offset.astype(np.int64)
        k = np.where((k >= 0) & (k < len(days)), k, -1)
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
    if levels:
        batch.add_table("ecommerce", "inventory_levels",
                        _levels(days[-1], skus, store_ids, stock, online))  # fmt: skip
    state.store_stock, state.online_stock = stock, online
