"""The rows of the file entities (clickstream, conversations, deliveries), written on a
background thread.

Cutting a window's rows into partitions, copying the ready ones and building their identity
rows is Arrow work that releases the GIL: on its own thread it overlaps the simulation of
the next window. One thread takes the jobs in submission order, so partition files, file
numbers and identity parts are the same whatever the timing.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyarrow as pa

from .files import FileWriter
from .materialize import write_table_entity
from .state import PendingTables, WorldState
from .truth import add_identity_rows

MAX_QUEUED = 1  # jobs (each up to ``records.SPILL_ROWS`` rows or one window) held in memory


class FileRows:
    def __init__(self, out: Path, state: WorldState, writer: FileWriter, pending: PendingTables):
        self.out, self.state, self.writer, self.pending = out, state, writer, pending
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-rows")
        self._queued: deque[Future] = deque()
        self._window, self._first_day, self._end, self._part = 0, "", date.min, 0

    def begin_window(self, window: int, first_day: str, end: date) -> None:
        """Rows submitted from now on belong to ``window`` (first day, exclusive end)."""
        self._window, self._first_day, self._end, self._part = window, first_day, end, 0

    def submit(self, system: str, entity: str, tables: list[pa.Table]) -> None:
        job = (system, entity, tables, self._first_day, self._end, self._window, self._part)
        self._part += 1
        self._queued.append(self._pool.submit(self._write, *job))
        while len(self._queued) > MAX_QUEUED:
            self._queued.popleft().result()

    def _write(self, system, entity, tables, first_day, end, window, part) -> None:
        rows = write_table_entity(self.out, self.state, system, entity, tables, first_day, end,
                                  self.writer, self.pending)  # fmt: skip
        if rows is not None:
            add_identity_rows(self.out, window, rows, spill=part)

    def drain(self) -> None:
        """Wait for every submitted job (and surface its error)."""
        while self._queued:
            self._queued.popleft().result()

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self._pool.shutdown()

    def __enter__(self) -> FileRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
