"""The SQLite writes of a run (doc stores and POS), on one background thread.

One writer lives for a whole ``generate``/``advance`` run, so a month's rows go into SQLite
while the next month is simulated. SQLite releases the GIL while it steps, and the daily
stock snapshots (millions of rows) go in through DuckDB's SQLite extension, which holds no
GIL at all. All writes run in submission order on one thread, so the files are identical
whatever the timing.
"""

from __future__ import annotations

import logging
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa

from . import docstore, pos_db
from .files import jsonl_column

log = logging.getLogger(__name__)

UPSERT_ROWS = 50_000


def sqlite_extension_path() -> Path | None:
    """DuckDB's SQLite extension from its wheel, or None when it is not installed."""
    try:
        import duckdb_extension_sqlite_scanner as ext
    except ImportError:
        return None
    path = (
        Path(ext.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "sqlite_scanner.duckdb_extension"
    )
    return path if path.exists() else None


class DbWriter:
    """Queue of writes to ``crm.sqlite``, ``shop.sqlite`` and ``pos.sqlite`` under ``out``."""

    def __init__(self, out: Path):
        self.out = out
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-sqlite")
        self._pending: list[Future] = []
        # Opened on the worker thread, used only there.
        self._cons: dict[str, sqlite3.Connection] = {}
        self._duck: duckdb.DuckDBPyConnection | None = None
        self._json: duckdb.DuckDBPyConnection | None = None

    # -- submitted from the simulation thread ---------------------------------------------
    def upsert_docs(self, system: str, entity: str, rows: list[tuple[str, str, bytes]]) -> None:
        self._submit(lambda: docstore.upsert(self._con(system), entity, rows))

    def upsert_doc_table(self, system: str, entity: str, ids: pa.ChunkedArray,
                         docs: pa.Table) -> None:  # fmt: skip
        """Upsert records given as an Arrow table (one column per field, nested lists
        allowed), formatted as JSON by DuckDB on the writer thread."""
        self._submit(lambda: self._upsert_doc_table(system, entity, ids, docs))

    def upsert_pos(self, table: str, rows: list[dict]) -> None:
        self._submit(lambda: pos_db.upsert(self._con("pos"), table, rows))

    def insert_pos_columns(self, table: str, columns: tuple[str, ...], values: list) -> None:
        """Append-only POS rows given column by column, or as one Arrow table."""
        if isinstance(values, pa.Table):
            self._submit(lambda: self._insert_arrow(table, values))
        else:
            self._submit(lambda: pos_db.insert_columns(self._con("pos"), table, columns, values))

    def drain(self) -> None:
        """Wait for everything submitted so far (bounds memory to one month of rows)."""
        pending, self._pending = self._pending, []
        for f in pending:
            f.result()

    def close(self) -> None:
        try:
            self.drain()
            self._pool.submit(self._close_all).result()
        finally:
            self._pool.shutdown()

    def __enter__(self) -> DbWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- on the worker thread ------------------------------------------------------------
    def _submit(self, job) -> None:
        self._pending.append(self._pool.submit(job))

    def _con(self, system: str) -> sqlite3.Connection:
        con = self._cons.get(system)
        if con is None:
            if system == "pos":
                con = pos_db.connect(self.out)
            else:
                con = docstore.connect(self.out, system)
            self._cons[system] = con
        return con

    def _upsert_doc_table(self, system: str, entity: str, ids, docs: pa.Table) -> None:
        if self._json is None:
            self._json = duckdb.connect()
            self._json.execute("SET enable_progress_bar = false")
            self._json.execute("SET threads = 1")  # rows come back in table order
        ids = pa.chunked_array(ids) if isinstance(ids, pa.Array) else ids
        # In slices: a million records as Python strings at once would cost a gigabyte.
        for start in range(0, docs.num_rows, UPSERT_ROWS):
            part = docs.slice(start, UPSERT_ROWS)
            text = jsonl_column(part, self._json)
            rows = zip(ids.slice(start, UPSERT_ROWS).to_pylist(), part["updated_at"].to_pylist(),
                       text.to_pylist(), strict=True)  # fmt: skip
            docstore.upsert(self._con(system), entity, rows)

    def _insert_arrow(self, table: str, rows: pa.Table) -> None:
        ext = sqlite_extension_path()
        if ext is None:  # no extension: the same rows through Python's sqlite3
            values = [c.to_pylist() for c in rows.columns]
            pos_db.insert_columns(self._con("pos"), table, tuple(rows.column_names), values)
            return
        self._con("pos").commit()  # one writer at a time on the file
        if self._duck is None:
            self._duck = duckdb.connect()
            self._duck.execute("SET enable_progress_bar = false")
            self._duck.execute("SET threads = 1")  # keep the rows in table order
            self._duck.execute(f"LOAD '{ext.as_posix()}'")
            path = pos_db.pos_path(self.out).as_posix()
            self._duck.execute(f"ATTACH '{path}' AS pos (TYPE sqlite)")
        self._duck.register("new_rows", rows)
        try:
            cols = ", ".join(rows.column_names)
            self._duck.execute(f"INSERT INTO pos.{table} ({cols}) SELECT {cols} FROM new_rows")
        finally:
            self._duck.unregister("new_rows")

    def _close_all(self) -> None:
        if self._json is not None:
            self._json.close()
            self._json = None
        if self._duck is not None:
            self._duck.execute("DETACH pos")
            self._duck.close()
            self._duck = None
        for con in self._cons.values():
            con.commit()
            con.close()
        self._cons = {}
