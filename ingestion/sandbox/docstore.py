"""The REST systems' storage: one SQLite file per system, one table per entity.

Each row holds the record's id, its ``updated_at`` and the JSON document, indexed on
(``updated_at``, ``id``) so the server can filter and paginate with a keyset query instead of
loading everything into memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

DOCSTORE_FILES = {"crm": Path("crm") / "crm.sqlite", "ecommerce": Path("ecommerce") / "shop.sqlite"}
ENTITIES = {
    "crm": ("contacts", "loyalty_accounts", "campaigns"),
    "ecommerce": ("customers", "orders", "checkouts", "products", "inventory_levels"),
}


def docstore_path(out: Path, system: str) -> Path:
    return out / DOCSTORE_FILES[system]


def connect(out: Path, system: str) -> sqlite3.Connection:
    path = docstore_path(out, system)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    # No rollback journal and no fsync while generating: a broken world is regenerated.
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    for entity in ENTITIES[system]:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {entity} ("
            " id TEXT PRIMARY KEY, updated_at TEXT NOT NULL, doc TEXT NOT NULL)"
        )
        con.execute(f"CREATE INDEX IF NOT EXISTS ix_{entity}_cursor ON {entity} (updated_at, id)")
    return con


def upsert(con: sqlite3.Connection, entity: str, rows: Iterable[tuple[str, str, bytes | str]]):
    """Insert or replace (id, updated_at, json) rows."""
    con.executemany(
        f"INSERT INTO {entity} (id, updated_at, doc) VALUES (?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, doc = excluded.doc",
        ((k, u, d.decode() if isinstance(d, bytes) else d) for k, u, d in rows),
    )


def open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def page(
    con: sqlite3.Connection,
    entity: str,
    limit: int,
    since: str | None = None,
    after: tuple[str, str] | None = None,
    created_min: str | None = None,
    created_max: str | None = None,
) -> list[tuple[str, str, str]]:
    """Up to ``limit`` (updated_at, id, doc) rows in (updated_at, id) order, updated at or
    after ``since`` and created in [``created_min``, ``created_max``] (both inclusive, like
    Shopify's ``created_at_min`` / ``created_at_max``).

    ``created_at`` is read from the document: the keyset walk on the cursor index goes on
    where the previous page stopped, so paging through a filter reads each row once in all.
    """
    where, params = [], []
    # A page after the first carries its keyset: rows after it are updated at or after
    # ``since`` already. Both bounds together made SQLite search the index from ``since``
    # and skip every earlier page's rows again (quadratic in the pages read).
    if since is not None and (after is None or after[0] < since):
        where.append("updated_at >= ?")
        params.append(since)
    if after is not None:
        where.append("(updated_at, id) > (?, ?)")
        params.extend(after)
    if created_min is not None:
        where.append("json_extract(doc, '$.created_at') >= ?")
        params.append(created_min)
    if created_max is not None:
        where.append("json_extract(doc, '$.created_at') <= ?")
        params.append(created_max)
    sql = f"SELECT updated_at, id, doc FROM {entity}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY updated_at, id LIMIT ?"
    params.append(limit)
    return con.execute(sql, params).fetchall()
