"""The retailer's physical and digital assortment: stores and products."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from .catalog import CATEGORIES, PRODUCT_ADJECTIVES, PRODUCT_NOUNS, PROVINCES
from .state import as_objects

STORE_AREAS = ["Centro", "Norte", "Sur", "Plaza", "Parque Comercial", "Puerto"]


def store_count(customers: int) -> int:
    return int(np.clip(round(customers / 400), 4, 80))


def make_stores(rng: np.random.Generator, n: int, start: date) -> pd.DataFrame:
    """``n`` stores, the biggest provinces first and getting several."""
    order = np.argsort([-p[3] for p in PROVINCES], kind="stable")
    prov_idx, seen = [], {}
    for k in range(n):
        p = int(order[k % len(order)]) if k < len(order) else int(order[k % 6])
        prov_idx.append(p)
        seen[p] = seen.get(p, 0) + 1
    counts: dict[int, int] = {}
    rows = []
    for k, p in enumerate(prov_idx):
        counts[p] = counts.get(p, 0) + 1
        province, city, _, _, area = PROVINCES[p]
        digits = str(rng.integers(10**8, 10**9))[: 9 - len(area)]
        opened = start - timedelta(days=int(rng.integers(200, 4000)))
        rows.append(
            {
                "store_id": f"ST{k + 1:03d}",
                "name": f"Tienda {city} {STORE_AREAS[(counts[p] - 1) % len(STORE_AREAS)]}",
                "city": city,
                "province": province,
                "province_index": p,
                "phone": f"+34{area}{digits}",
                "opened_on": opened.isoformat(),
                "updated_at": f"{opened.isoformat()} 09:00:00",
            }
        )
    return as_objects(pd.DataFrame(rows))


def make_products(rng: np.random.Generator, n: int, start: date) -> pd.DataFrame:
    shares = np.array([c[3] for c in CATEGORIES])
    cat = rng.choice(len(CATEGORIES), size=n, p=shares / shares.sum())
    rows = []
    for i in range(n):
        name, lo, hi, _ = CATEGORIES[cat[i]]
        raw = np.exp(rng.uniform(np.log(lo), np.log(hi)))
        price = max(1.95, np.floor(raw) + (0.95 if rng.random() < 0.7 else 0.99))
        noun = PRODUCT_NOUNS[name][i % len(PRODUCT_NOUNS[name])]
        adj = PRODUCT_ADJECTIVES[int(rng.integers(0, len(PRODUCT_ADJECTIVES)))]
        created = start - timedelta(days=int(rng.integers(30, 900)))
        rows.append(
            {
                "product_id": str(8_000_000_000 + i),
                "sku": f"SKU-{i + 1:05d}",
                "title": f"{noun} {adj} {i + 1}",
                "category": name,
                "price": round(float(price), 2),
                "created_at": f"{created.isoformat()}T08:00:00Z",
            }
        )
    df = pd.DataFrame(rows)
    # A few best sellers carry most of the volume, as in any shop.
    pop = 1.0 / np.arange(1, n + 1) ** 0.8
    df["popularity"] = rng.permutation(pop / pop.sum())
    return as_objects(df)
