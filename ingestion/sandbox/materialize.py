"""Write a window's record versions into the source systems, as of the world's end.

Versions visible before the end are applied (latest per key wins); the rest wait in the
pending queue. File records whose partition is already closed arrive in the first open one,
which is exactly how a late event behaves.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .db_writer import DbWriter
from .files import FileWriter, write_jsonl_partition, write_jsonl_table, write_spend_partition
from .records import (
    DOC_TABLE_ENTITIES,
    FILE_ENTITIES,
    META_COLUMNS,
    TABLE_ENTITIES,
    Batch,
    Version,
)
from .state import Pending, PendingTables, WorldState
from .truth import TRUTH_SCHEMA

if TYPE_CHECKING:
    from .filerows import FileRows

log = logging.getLogger(__name__)


def _latest(versions: list[Version]) -> list[Version]:
    latest: dict[str, Version] = {}
    for v in sorted(versions, key=lambda v: v.visible_at):  # stable: emission order breaks ties
        latest[v.key] = v
    return sorted(latest.values(), key=lambda v: (v.visible_at, v.key))


def _string_array(values) -> pa.Array:
    # pa.array() would walk an Arrow column value by value as a Python sequence.
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks().cast(pa.string())
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    return pa.array(values, pa.string())


def truth_table(system: str, entity: str, ids, persons) -> pa.Table:
    ids = _string_array(ids)
    persons = _string_array(persons)
    keep = pc.is_valid(persons)
    n = len(ids)
    return pa.Table.from_arrays(
        [pa.repeat(pa.scalar(system), n), pa.repeat(pa.scalar(entity), n), ids, persons],
        schema=TRUTH_SCHEMA,
    ).filter(keep)


def _as_table(versions: list[Version], like: pa.Schema | None) -> pa.Table:
    """Dict versions of a table entity (a few, e.g. reminders) in the entity's columns."""
    docs = [v.doc for v in versions]
    doc_schema = (
        None if like is None else pa.schema([f for f in like if f.name not in META_COLUMNS])
    )
    table = pa.Table.from_pylist(docs, schema=doc_schema)
    meta = {
        "_dt": pa.array([v.visible_at for v in versions], pa.string()),
        "_key": pa.array([v.key for v in versions], pa.string()),
        "_person": pa.array([v.person_id for v in versions], pa.string()),
    }
    return pa.Table.from_arrays(
        [*meta.values(), *table.columns], names=[*meta, *table.column_names]
    )


def write_table_entity(out: Path, state: WorldState, system: str, entity: str,
                        tables: list[pa.Table], window_first_day: str, end: date,
                        writer: FileWriter, pending: PendingTables) -> pa.Table | None:  # fmt: skip
    """Write the rows of one Arrow-built file entity that arrive before ``end`` (the rest
    wait in ``pending``); returns their truth rows."""
    parked = pending.take(system, entity)
    if parked is not None:
        tables = [parked, *tables]
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    # Arrival day as an integer: rows before the world's end are ready, the rest wait.
    day = pc.cast(pc.cast(table["_dt"], pa.date32()), pa.int32()).to_numpy()
    first = np.datetime64(window_first_day, "D").astype(np.int32)
    day = np.maximum(day, first)  # already closed: arrives in the first open partition
    is_ready = day < np.datetime64(end, "D").astype(np.int32)
    n_ready = int(is_ready.sum())
    # Copies of multi-million-row tables cost more than building them: only when needed.
    if n_ready < table.num_rows:
        pending.put(system, entity, table.filter(pa.array(~is_ready)))
    if not n_ready:
        return None
    ready = table if n_ready == table.num_rows else table.filter(pa.array(is_ready))
    day = day[is_ready]
    if (np.diff(day) < 0).any():  # group by partition, keeping the order rows were made in
        order = np.argsort(day, kind="stable")
        ready, day = ready.take(order), day[order]
    days, counts = np.unique(day, return_counts=True)
    body = ready.drop_columns(list(META_COLUMNS))
    start = 0
    for d, k in zip(days.astype("datetime64[D]").astype(str), counts.tolist(), strict=True):
        write_jsonl_table(out, system, entity, d, body.slice(start, k), writer)
        start += k
    name = f"{system}.{entity}"
    state.file_parts[name] = state.file_parts.get(name, 0) + ready.num_rows
    log.info("%s.%s: %d rows written to %d partitions", system, entity, ready.num_rows,
             len(days))  # fmt: skip
    if system == "clickstream":
        pairs = ready.select(["anonymous_id", "_person"]).group_by(["anonymous_id", "_person"])
        pairs = pairs.aggregate([])
        return truth_table("clickstream", "anonymous_ids", pairs["anonymous_id"], pairs["_person"])
    return truth_table(system, entity, ready["_key"], ready["_person"])


def latest_versions(table: pa.Table) -> pa.Table:
    """The last version of each ``_key`` (by ``_dt``, then by position), in (_dt, _key) order."""
    # Arrow's sort is stable: versions visible at the same instant keep emission order.
    # Indices only until the end: one copy of the (up to a million-row) table, not three.
    by_key = pc.sort_indices(table.select(["_key", "_dt"]),
                             [("_key", "ascending"), ("_dt", "ascending")])  # fmt: skip
    keys = table["_key"].take(by_key)
    n = table.num_rows
    last = pc.not_equal(keys.slice(0, n - 1), keys.slice(1)) if n > 1 else pa.array([], pa.bool_())
    mask = pa.concat_arrays([*(c for c in pa.chunked_array(last).chunks), pa.array([True])])
    latest = by_key.filter(mask)
    order = pc.sort_indices(table.select(["_dt", "_key"]).take(latest),
                            [("_dt", "ascending"), ("_key", "ascending")])  # fmt: skip
    return table.take(latest.take(order))


def _write_doc_table_entity(state: WorldState, system: str, entity: str, tables: list[pa.Table],
                            db: DbWriter, pending: PendingTables) -> pa.Table | None:  # fmt: skip
    """Store the latest visible version of each record of a table-built REST entity."""
    parked = pending.take(system, entity)
    if parked is not None:
        tables = [parked, *tables]
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    ready_mask = pc.less(table["_dt"], f"{state.end.isoformat()}T00:00:00Z")
    if not pc.all(ready_mask).as_py():
        pending.put(system, entity, table.filter(pc.invert(ready_mask)))
        table = table.filter(ready_mask)
    ready = table
    if not ready.num_rows:
        return None
    latest = latest_versions(ready)
    db.upsert_doc_table(system, entity, latest["_key"], latest.drop_columns(list(META_COLUMNS)))
    log.info("%s.%s: %d records written", system, entity, latest.num_rows)
    return truth_table(system, entity, latest["_key"], latest["_person"])


def materialize(out: Path, state: WorldState, batch: Batch, window_first_day: str,
                file_rows: FileRows, db: DbWriter, pending_store: Pending) -> pa.Table:  # fmt: skip
    """Apply ``batch`` plus the pending queue; returns the new ground-truth identity rows
    (those of the file entities ``file_rows`` parks itself).

    File entities go to ``file_rows``, SQLite rows to ``db``; both may still be writing them
    when this returns.
    """
    # Last window's rows are in: memory holds at most one window in flight.
    db.drain()
    file_rows.drain()
    queue = pending_store.queue
    merged: dict[tuple[str, str], list[Version]] = defaultdict(list)
    for key, versions in queue.pop_all().items():
        merged[key].extend(versions)
    for key, versions in batch.versions.items():
        merged[key].extend(versions)
    cutoff_ts = f"{state.end.isoformat()}T00:00:00Z"
    cutoff_day = state.end.isoformat()
    file_systems = set(FILE_ENTITIES)
    pending: list[tuple[str, str, Version]] = []
    truth: list[pa.Table] = []
    for system, entity in TABLE_ENTITIES:
        tables = list(batch.tables.pop((system, entity), []))
        stray = merged.pop((system, entity), [])
        if stray:
            tables.append(_as_table(stray, tables[0].schema if tables else None))
        file_rows.submit(system, entity, tables)
    for system, entity in DOC_TABLE_ENTITIES:
        tables = list(batch.tables.pop((system, entity), []))
        stray = merged.pop((system, entity), [])
        if stray:
            tables.append(_as_table(stray, tables[0].schema if tables else None))
        rows = _write_doc_table_entity(state, system, entity, tables, db, pending_store.tables)
        if rows is not None:
            truth.append(rows)
    for system, entity in sorted(merged):
        versions = merged[(system, entity)]
        is_file = system in file_systems
        cutoff = cutoff_day if is_file else cutoff_ts
        ready = [v for v in versions if v.visible_at < cutoff]
        pending += [(system, entity, v) for v in versions if v.visible_at >= cutoff]
        if not ready:
            continue
        if is_file:
            by_dt: dict[str, list[Version]] = defaultdict(list)
            for v in ready:
                by_dt[max(v.visible_at, window_first_day)].append(v)
            for dt in sorted(by_dt):
                rows = sorted(by_dt[dt], key=lambda v: v.key)
                if system == "marketing":
                    write_spend_partition(out, dt, [v.doc for v in rows])
                else:
                    write_jsonl_partition(out, system, entity, dt, [v.doc for v in rows],
                                          file_rows.writer)  # fmt: skip
            name = f"{system}.{entity}"
            state.file_parts[name] = state.file_parts.get(name, 0) + len(ready)
            truth.append(
                truth_table(system, entity, [v.key for v in ready], [v.person_id for v in ready])
            )
            continue
        latest = _latest(ready)
        truth.append(
            truth_table(system, entity, [v.key for v in latest], [v.person_id for v in latest])
        )
        if system == "pos":
            db.upsert_pos(entity, [v.doc for v in latest])
        else:
            rows = [(v.key, v.doc["updated_at"], orjson.dumps(v.doc)) for v in latest]
            db.upsert_docs(system, entity, rows)
        log.info("%s.%s: %d records written", system, entity, len(latest))
    for table, parts in batch.pos_rows.items():
        n = 0
        for columns, values in parts:
            db.insert_pos_columns(table, columns, values)
            if isinstance(values, pa.Table):
                n += values.num_rows
            elif values:
                n += len(values[0])
        log.info("pos.%s: %d rows written", table, n)
    truth += [truth_table(*t) for t in batch.truth]
    queue.push(pending)
    log.info("%d record versions wait for a later advance", len(pending))
    return pa.concat_tables(truth) if truth else TRUTH_SCHEMA.empty_table()
