"""The persistent state of a sandbox world, so ``advance`` continues the same world.

Lives in ``DIR/_world/``: the people (with their current consents, loyalty points...), stores,
products, id counters, stock levels, the generator's own ledger of orders and money movements
(the source of the revenue truth) and the queue of record versions not yet visible.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .records import Version

COUNTERS = (
    "ticket",
    "order",
    "checkout",
    "session",
    "event",
    "conversation",
    "message",
    "delivery",
    "delivery_event",
    "return",
    "pickup",
    "refund",
    "line",
    "household",
    "window",
)


def as_objects(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as plain Python objects with ``None`` for missing.

    pandas 3 turns text into its ``str`` dtype where a missing value is NaN; the simulation
    tests identifiers with ``is None`` and hands them to JSON, so it wants real ``None``.
    """
    for c in df.columns:
        if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype):
            df[c] = pd.Series(
                df[c].to_numpy(dtype=object, na_value=None), dtype=object, index=df.index
            )
    return df


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


@dataclass
class WorldState:
    args: dict
    start: date
    end: date  # exclusive: the world has happened up to (not including) this day
    people: pd.DataFrame
    stores: pd.DataFrame
    products: pd.DataFrame
    store_stock: np.ndarray  # (stores, products) on hand
    online_stock: np.ndarray  # (products,) in the online warehouse
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    file_parts: dict[str, int] = field(default_factory=dict)  # rows written per file entity
    # Arrow copies of identity columns (which never change once a person exists), per column
    # and population size: converting a million strings for every chunk adds up.
    _arrow: dict[tuple[str, int], pa.Array] = field(default_factory=dict, repr=False)

    def arrow_column(self, column: str) -> pa.Array:
        """``people[column]`` as an Arrow string array (identity columns only)."""
        key = (column, len(self.people))
        if key not in self._arrow:
            self._arrow = {k: v for k, v in self._arrow.items() if k[1] == key[1]}
            self._arrow[key] = pa.array(self.people[column].to_numpy(), pa.string())
        return self._arrow[key]

    def next_ids(self, name: str, n: int) -> np.ndarray:
        first = self.counters[name]
        self.counters[name] = first + n
        return np.arange(first, first + n)

    # -- persistence -------------------------------------------------------------------
    @staticmethod
    def world_dir(out: Path) -> Path:
        return out / "_world"

    def save(self, out: Path) -> None:
        wd = self.world_dir(out)
        wd.mkdir(parents=True, exist_ok=True)
        write_parquet(self.people, wd / "people.parquet")
        write_parquet(self.stores, wd / "stores.parquet")
        write_parquet(self.products, wd / "products.parquet")
        np.save(wd / "store_stock.npy", self.store_stock)
        np.save(wd / "online_stock.npy", self.online_stock)
        meta = {
            "args": self.args,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "counters": self.counters,
            "file_parts": self.file_parts,
        }
        (wd / "state.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, out: Path) -> WorldState:
        wd = cls.world_dir(out)
        if not (wd / "state.json").exists():
            raise FileNotFoundError(f"{out} holds no sandbox world; run `omni sandbox generate`")
        meta = json.loads((wd / "state.json").read_text())
        return cls(
            args=meta["args"],
            start=date.fromisoformat(meta["start"]),
            end=date.fromisoformat(meta["end"]),
            people=as_objects(pq.read_table(wd / "people.parquet").to_pandas()),
            stores=as_objects(pq.read_table(wd / "stores.parquet").to_pandas()),
            products=as_objects(pq.read_table(wd / "products.parquet").to_pandas()),
            store_stock=np.load(wd / "store_stock.npy"),
            online_stock=np.load(wd / "online_stock.npy"),
            counters=meta["counters"],
            file_parts=meta["file_parts"],
        )


class PendingQueue:
    """Record versions that become visible after the world's current end.

    Held in memory for a whole run (every chunk takes them and puts back what is still in
    the future) and written to ``_world/pending.sqlite`` once, by ``flush``.
    """

    def __init__(self, out: Path):
        self.path = WorldState.world_dir(out) / "pending.sqlite"
        self._held: list[tuple[str, str, Version]] | None = None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path)
        con.execute(
            "CREATE TABLE IF NOT EXISTS pending (system TEXT, entity TEXT, visible_at TEXT,"
            " key TEXT, doc TEXT, person_id TEXT)"
        )
        return con

    def _load(self) -> list[tuple[str, str, Version]]:
        con = self._connect()
        rows = con.execute(
            "SELECT system, entity, visible_at, key, doc, person_id FROM pending ORDER BY rowid"
        ).fetchall()
        con.close()
        return [
            (system, entity, Version(visible_at, key, orjson.loads(doc), person))
            for system, entity, visible_at, key, doc, person in rows
        ]

    def pop_all(self) -> dict[tuple[str, str], list[Version]]:
        held = self._load() if self._held is None else self._held
        self._held = []
        out: dict[tuple[str, str], list[Version]] = {}
        for system, entity, version in held:
            out.setdefault((system, entity), []).append(version)
        return out

    def push(self, items: list[tuple[str, str, Version]]) -> None:
        if self._held is None:
            self._held = self._load()
        self._held.extend(items)

    def flush(self) -> None:
        if self._held is None:
            return
        con = self._connect()
        con.execute("DELETE FROM pending")
        con.executemany(
            "INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?)",
            [
                (s, e, v.visible_at, v.key, orjson.dumps(v.doc), v.person_id)
                for s, e, v in self._held
            ],
        )
        con.commit()
        con.execute("VACUUM")
        con.close()


class Ledger:
    """The generator's own books: every order, money adjustment and pickup, as it happened."""

    def __init__(self, out: Path):
        self.dir = WorldState.world_dir(out) / "ledger"

    def append(self, name: str, window: int, df: pd.DataFrame) -> None:
        write_parquet(df, self.dir / f"{name}-{window:04d}.parquet")

    def read(self, name: str) -> pd.DataFrame:
        files = sorted(self.dir.glob(f"{name}-*.parquet"))
        if not files:
            return pd.DataFrame()
        return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


class PendingTables:
    """Rows of the Arrow-built entities that arrive after the world's current end.

    Held in memory for a whole run and written to ``_world/pending/`` once, by ``flush``.
    """

    def __init__(self, out: Path):
        self.dir = WorldState.world_dir(out) / "pending"
        self._held: dict[tuple[str, str], pa.Table] = {}

    def _path(self, system: str, entity: str) -> Path:
        return self.dir / f"{system}.{entity}.parquet"

    def take(self, system: str, entity: str) -> pa.Table | None:
        if (system, entity) in self._held:
            return self._held.pop((system, entity))
        path = self._path(system, entity)
        if not path.exists():
            return None
        table = pq.read_table(path)
        path.unlink()
        return table

    def put(self, system: str, entity: str, table: pa.Table) -> None:
        if table.num_rows:
            self._held[(system, entity)] = table

    def flush(self) -> None:
        for (system, entity), table in sorted(self._held.items()):
            self.dir.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, self._path(system, entity), compression="zstd")
        self._held = {}


class Pending:
    """What waits for a later day, for the length of one ``generate``/``advance`` run."""

    def __init__(self, out: Path):
        self.queue = PendingQueue(out)
        self.tables = PendingTables(out)

    def flush(self) -> None:
        self.queue.flush()
        self.tables.flush()
