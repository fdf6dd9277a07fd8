"""The POS database: portable DDL and the writer that keeps the tills' tables current."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

POS_FILE = Path("pos") / "pos.sqlite"
PRIMARY_KEYS = {
    "stores": ("store_id",),
    "transactions": ("transaction_id",),
    "transaction_lines": ("transaction_id", "line_no"),
    "returns": ("return_id",),
    "pickups": ("pickup_id",),
    "inventory_daily": ("snapshot_date", "store_id", "sku"),
}
COLUMNS = {
    "stores": ("store_id", "name", "city", "province", "phone", "opened_on", "updated_at"),
    "transactions": (
        "transaction_id", "store_id", "occurred_at", "loyalty_card", "phone_typed",
        "receipt_email", "card_fingerprint", "payment_method", "total_amount", "staff_id",
        "updated_at",
    ),
    "transaction_lines": (
        "transaction_id", "line_no", "sku", "quantity", "unit_price", "line_amount",
    ),
    "returns": (
        "return_id", "store_id", "returned_at", "original_transaction_id", "original_order_id",
        "sku", "quantity", "refund_amount", "updated_at",
    ),
    "pickups": (
        "pickup_id", "order_id", "store_id", "ready_at", "picked_up_at", "status", "updated_at",
    ),
    "inventory_daily": ("snapshot_date", "store_id", "sku", "on_hand", "updated_at"),
}  # fmt: skip


def pos_ddl() -> str:
    """The POS schema as portable SQL (SQLite and PostgreSQL), statements split by ``;``."""
    return resources.files(__package__).joinpath("pos_schema.sql").read_text(encoding="utf-8")


def pos_path(out: Path) -> Path:
    return out / POS_FILE


def connect(out: Path) -> sqlite3.Connection:
    path = pos_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    con = sqlite3.connect(path)
    fast_writes(con)
    if fresh:
        con.executescript(pos_ddl())
    return con


def fast_writes(con: sqlite3.Connection) -> None:
    """No rollback journal and no fsync: a half-written sandbox is regenerated, not repaired."""
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache for index maintenance


def upsert(con: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    cols = COLUMNS[table]
    pk = PRIMARY_KEYS[table]
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in pk)
    sql = (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        f" ON CONFLICT ({', '.join(pk)}) DO UPDATE SET {updates}"
    )
    con.executemany(sql, [tuple(r[c] for c in cols) for r in rows])


def insert_columns(
    con: sqlite3.Connection, table: str, columns: tuple[str, ...], values: list[list]
) -> None:
    """Bulk insert of new rows given column by column (lists of Python values)."""
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    con.executemany(sql, zip(*values, strict=True))


def insert_rows(con: sqlite3.Connection, table: str, columns: tuple[str, ...], rows: list[tuple]):
    """Bulk insert of new rows (append-only tables such as daily snapshots)."""
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    con.executemany(sql, rows)
