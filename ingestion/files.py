"""Readers for file drops (``dt=YYYY-MM-DD`` partitions): gzip JSONL and CSV.

They run as dlt transformers behind dlt's ``filesystem`` resource, which lists only new or
changed files (incremental on ``modification_date``). Each reader salvages what it can
from a damaged file and quarantines the rest: a truncated or corrupt gzip stream, bytes
that are not UTF-8, a line that is not JSON, a record that breaks its contract.

Each file is read, decompressed, parsed and checked on a worker thread, a few files ahead of
the one whose rows dlt is writing (``read_ahead``): ISA-L's inflate, Arrow's JSON parser and
its compute kernels release the interpreter lock, so on a machine with two cores or more the
next files are prepared while dlt writes the last one, and one resource's files while
another resource (a Python-bound reader) holds the lock.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json
from dlt.common import json
from dlt.common.storages.fsspec_filesystem import FileItemDict
from isal import isal_zlib

from ingestion.contracts import Contract
from ingestion.load_keys import DeliveredKeys
from ingestion.nested_arrow import NestedPage, load_tables, mark_tables
from ingestion.quarantine import (
    checked_nested_tables,
    checked_records_page,
    count,
    quarantine_rows,
    split_arrow,
    split_records,
    superseded_reason,
)

log = logging.getLogger(__name__)

# dlt computes a table schema for every Arrow item it extracts (milliseconds each), so the
# small per-file tables are yielded together up to this many rows: few items, bounded memory.
ARROW_BATCH_ROWS = 100_000
# The same for records with nested lists, in parent records: each brings its lists (and is
# held as a dict until its key is checked), so the batch is smaller: as fast, ~90 MB less.
NESTED_BATCH_ROWS = 5_000
# Files prepared at once on worker threads, ahead of the one being handed to dlt: memory
# holds at most this many files (plus the one being written and the pending batch).
READ_AHEAD = 2

_ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def arrow_schema(contract: Contract) -> pa.Schema:
    """Explicit Arrow types for a flat contract, so a batch never guesses a column's type."""
    return pa.schema([(c.name, _ARROW_TYPES[c.data_type]) for c in contract.columns])


def gunzip(raw: bytes) -> tuple[bytes, str | None]:
    """Decompress every gzip member; on damage return what was readable and why it stopped.

    ISA-L's inflate (the ``isal`` package, zlib's interface) is about twice as fast as zlib's
    and releases the interpreter lock while it works."""
    out = bytearray()
    rest = raw
    while rest:
        inflater = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)
        try:
            out += inflater.decompress(rest)
        except isal_zlib.error as exc:
            return bytes(out), f"corrupt gzip stream ({exc})"
        if not inflater.eof:
            out += inflater.flush()
            return bytes(out), "truncated gzip file (unexpected end of stream)"
        rest = inflater.unused_data
    return bytes(out), None


def file_bytes(item: FileItemDict) -> tuple[bytes, str | None]:
    raw = item.read_bytes()
    if item["file_name"].endswith(".gz"):
        return gunzip(raw)
    return raw, None


def _split_damaged(data: bytes, error: str | None) -> tuple[bytes, bytes | None]:
    """Complete lines, and the partial last line a damaged file ends with (if any)."""
    if error is None:
        return data, None
    cut = data.rfind(b"\n") + 1
    return data[:cut], data[cut:]


def _file_error(item: FileItemDict, error: str, tail: bytes | None, lines: int) -> tuple:
    reason = f"file: {error} in {item['relative_path']}; {lines} complete lines before it"
    payload = {
        "file": item["file_url"],
        "size_in_bytes": item.get("size_in_bytes"),
        "unreadable_tail": (tail or b"").decode("utf-8", errors="backslashreplace"),
    }
    return reason, payload


Numbered = list[tuple[int, bytes]]


def numbered_lines(data: bytes) -> Numbered:
    """Non-blank lines with their 1-based line number in the file, for reasons users can find."""
    return [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]


def parse_lines(
    lines: Numbered, where: str
) -> tuple[list[tuple[int, bytes, Any]], list[tuple[str, Any]]]:
    """JSON-decode each line; undecodable or malformed lines are rejected with their number."""
    parsed: list[tuple[int, bytes, Any]] = []
    bad: list[tuple[str, Any]] = []
    for number, line in lines:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append((f"undecodable bytes at {where} line {number}: {exc.reason}", line))
            continue
        try:
            parsed.append((number, line, json.loads(text)))
        except ValueError as exc:
            bad.append((f"malformed JSON at {where} line {number}: {exc}", text))
    return parsed, bad


def _read_arrow(lines: list[bytes], schema: pa.Schema) -> pa.Table | None:
    """One Arrow parse of whole lines, or None when any line would be wrong in the result."""
    return _read_blob(b"\n".join(lines), len(lines), schema)


def _read_blob(blob: bytes, expected_rows: int, schema: pa.Schema) -> pa.Table | None:
    try:
        # Arrow does not check UTF-8 while parsing; a bad byte must not reach the warehouse.
        blob.decode("utf-8")
        table = pa_json.read_json(
            io.BytesIO(blob), read_options=_ONE_THREAD, parse_options=_parse_options(schema)
        )
    except (UnicodeDecodeError, pa.ArrowInvalid):
        return None
    # Two objects on one line parse as two rows: not the one-record-per-line contract.
    return table if table.num_rows == expected_rows else None


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


# Files are parsed on read-ahead threads already; Arrow's own threads on top only add work.
_ONE_THREAD = pa_json.ReadOptions(use_threads=False)


def _parse_options(schema: pa.Schema) -> pa_json.ParseOptions:
    return pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")


def typed_tables(
    lines: Numbered, schema: pa.Schema, where: str
) -> tuple[list[pa.Table], list[tuple[str, Any]]]:
    """Arrow tables of the lines; only when the fast parse fails is each line examined alone."""
    if not lines:
        return [], []
    table = _read_arrow([line for _, line in lines], schema)
    if table is not None:
        return [table], []
    parsed, bad = parse_lines(lines, where)
    objects = []
    for number, line, record in parsed:
        if isinstance(record, dict):
            objects.append((number, line, record))
        else:
            reason = f"contract: expected a JSON object at {where} line {number}"
            bad.append((f"{reason}, got {type(record).__name__}", record))
    table = _read_arrow([line for _, line, _ in objects], schema) if objects else None
    if table is not None:
        return [table], bad
    tables: list[pa.Table] = []
    for number, line, record in objects:
        try:
            tables.append(pa_json.read_json(io.BytesIO(line), parse_options=_parse_options(schema)))
        except pa.ArrowInvalid as exc:
            bad.append((f"contract: wrong type at {where} line {number}: {exc}", record))
    return tables, bad


T = TypeVar("T")
R = TypeVar("R")


def read_ahead(work: Callable[[T], R], items: Iterable[T], depth: int = READ_AHEAD) -> Iterator[R]:
    """``work(item)`` for each item, in order, the next ``depth`` items worked on meanwhile by
    threads of their own. An error in ``work`` is raised here, at its item's turn."""
    with ThreadPoolExecutor(max_workers=depth, thread_name_prefix="file-read-ahead") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) > depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            # Stopped early (an error, or the consumer closed): start nothing more.
            for future in pending:
                future.cancel()


# What a reader makes of one file: records received (a damaged tail counts as one), the
# loadable rows (an Arrow table or dicts) and the (reason, payload) pairs to quarantine.
FileResult = tuple[int, Any, list[tuple[str, Any]]]


def _jsonl_file_arrow(contract: Contract, schema: pa.Schema, item: FileItemDict) -> FileResult:
    """One file's flat records as one checked Arrow table (runs on a read-ahead thread)."""
    where = item["relative_path"]
    data, error = file_bytes(item)
    data, tail = _split_damaged(data, error)
    # Fast path: the whole file in one parse, one row per line (so no blank line either).
    whole = _read_blob(data, _line_count(data), schema) if data else None
    if whole is not None:
        received, tables, bad = whole.num_rows, [whole], []
    else:
        lines = numbered_lines(data)
        received = len(lines)
        tables, bad = typed_tables(lines, schema, where)
    kept = None
    if tables:
        # Validated per file, so a key repeated anywhere in the file is seen as such.
        whole = pa.concat_tables(tables, promote_options="permissive")
        kept, rejected = split_arrow(contract, whole)
        bad.extend(rejected)
    if error:
        bad.append(_file_error(item, error, tail, received))
    return received + (1 if error else 0), kept, bad


def read_jsonl_arrow(
    contract: Contract, items: list[FileItemDict], seen: DeliveredKeys
) -> Iterator[Any]:
    """Flat JSONL records as typed Arrow tables (fast path: one Arrow parse per file)."""
    schema = arrow_schema(contract)
    metrics = dlt.current.resource_metrics()
    pending: list[tuple[str, pa.Table]] = []
    for item, (received, kept, bad) in zip(
        items, read_ahead(lambda i: _jsonl_file_arrow(contract, schema, i), items), strict=True
    ):
        where = item["relative_path"]
        if kept is not None and kept.num_rows:
            pending.append((where, kept))
        count(metrics, received=received, quarantined=len(bad))
        if bad:
            log.warning("%s: %d record(s) quarantined from %s", contract.resource, len(bad), where)
            yield quarantine_rows(contract.resource, bad)
        if sum(t.num_rows for _, t in pending) >= ARROW_BATCH_ROWS:
            yield from _newest_arrow(contract, seen, pending)
            pending = []
    if pending:
        yield from _newest_arrow(contract, seen, pending)


def _newest_arrow(
    contract: Contract, seen: DeliveredKeys, files: list[tuple[str, pa.Table]]
) -> Iterator[Any]:
    """The files' rows as one table, without the older deliveries of keys a file read
    before in this load had (those are set aside)."""
    tables = []
    for (where, table), (keep, newer) in zip(files, seen.newest(files), strict=True):
        if newer:
            yield _set_aside(contract, where, table.filter(pa.array(~keep)).to_pylist(), newer)
            table = table.filter(pa.array(keep))
        tables.append(table)
    joined = _concat(tables)
    if joined.num_rows:
        yield joined


def _set_aside(contract: Contract, where: str, older: list[Any], newer: list[str]) -> Any:
    """Quarantine rows, counted, for the versions in ``where`` of keys whose newer delivery
    (in the files ``newer``, one per version) this load reads instead."""
    count(dlt.current.resource_metrics(), quarantined=len(older))
    log.warning(
        "%s: %d record(s) from %s set aside in quarantine: a newer delivery of the same key "
        "in %s loads instead",
        contract.resource,
        len(older),
        where,
        ", ".join(sorted(set(newer))),
    )
    rejected = [
        (superseded_reason(contract, record, where, file), record)
        for record, file in zip(older, newer, strict=True)
    ]
    return quarantine_rows(contract.resource, rejected)


def _concat(tables: list[pa.Table]) -> pa.Table:
    # A new upstream column in one file only: the others get nulls, nothing is lost.
    return pa.concat_tables(tables, promote_options="permissive")


def _jsonl_file_nested(contract: Contract, item: FileItemDict) -> FileResult:
    """One file's records with nested lists as a checked ``NestedPage`` (runs on a read-ahead
    thread)."""
    where = item["relative_path"]
    data, error = file_bytes(item)
    data, tail = _split_damaged(data, error)
    lines = numbered_lines(data)
    parsed, bad = parse_lines(lines, where)
    checked, rejected = checked_page(contract, [rec for _, _, rec in parsed])
    bad.extend(rejected)
    if error:
        bad.append(_file_error(item, error, tail, len(lines)))
    return len(lines) + (1 if error else 0), checked, bad


def checked_page(
    contract: Contract, records: list[Any]
) -> tuple[tuple[NestedPage, list[Any]] | None, list[tuple[str, Any]]]:
    """A file's records and their nested lists as typed Arrow tables, checked column-wise
    when nothing in them is to reject or coerce (the usual file: no Python check per value,
    which would hold the interpreter lock the other readers and dlt's extract need);
    otherwise record by record, whose reasons stay the reference. Each record is kept as
    the payload to quarantine should a later check reject it (the page and its records)."""
    fast = checked_nested_tables(contract, records)
    if fast is not None:
        return (fast, records), []
    good, rejected = split_records(contract, records)
    if not good:
        return None, rejected
    return (checked_records_page(contract, good), good), rejected


def read_jsonl_nested(
    contract: Contract, items: list[FileItemDict], seen: DeliveredKeys
) -> Iterator[Any]:
    """JSONL records with nested lists as Arrow tables: the records, then one table per list
    (``nested_arrow``), a batch of files at a time."""
    metrics = dlt.current.resource_metrics()
    pending: list[tuple[str, NestedPage, list[Any]]] = []
    for item, (received, checked, bad) in zip(
        items, read_ahead(lambda i: _jsonl_file_nested(contract, i), items), strict=True
    ):
        where = item["relative_path"]
        count(metrics, received=received, quarantined=len(bad))
        if bad:
            log.warning("%s: %d record(s) quarantined from %s", contract.resource, len(bad), where)
            yield quarantine_rows(contract.resource, bad)
        if checked is not None:
            pending.append((where, *checked))
        if sum(page.root.num_rows for _, page, _ in pending) >= NESTED_BATCH_ROWS:
            yield from _newest_versions(contract, seen, pending)
            pending = []
    if pending:
        yield from _newest_versions(contract, seen, pending)


def _newest_versions(
    contract: Contract, seen: DeliveredKeys, pages: list[tuple[str, NestedPage, list[Any]]]
) -> Iterator[Any]:
    """The pages' records whose key no file read before in this load had, as dlt items. An
    older delivery of a key (files are read newest first) is set aside with its lists, so
    only the loaded version's children reach the child tables. The keys are checked once
    per batch, not per file: each check has a fixed cost in DuckDB."""
    checked = seen.newest([(where, page.root) for where, page, _ in pages])
    tables = []
    for (where, page, records), (keep, newer) in zip(pages, checked, strict=True):
        if newer:
            older = [records[i] for i in np.flatnonzero(~keep).tolist()]
            yield _set_aside(contract, where, older, newer)
            page = page.take(keep)
        if page.root.num_rows:
            tables.append(load_tables(contract, page))
    if tables:
        yield from _batch(tables)


def _batch(pages: list[list[tuple[str, pa.Table]]]) -> list[Any]:
    """Each table's rows from several files as one item (dlt computes a schema per item)."""
    names = [name for name, _ in pages[0]]
    joined = [(name, _concat([tables[i][1] for tables in pages])) for i, name in enumerate(names)]
    return mark_tables(joined)


def read_csv_records(
    contract: Contract, items: list[FileItemDict], seen: DeliveredKeys
) -> Iterator[Any]:
    """CSV rows typed by the contract; a row it cannot decode or type is quarantined alone,
    an older delivery of a key another file of the load has is set aside."""
    metrics = dlt.current.resource_metrics()
    for item in items:
        where = item["relative_path"]
        data, error = file_bytes(item)
        data, tail = _split_damaged(data, error)
        (_, header), *lines = numbered_lines(data) or [(1, b"")]
        bad: list[tuple[str, Any]] = []
        decoded: list[str] = []
        for number, line in lines:
            try:
                decoded.append(line.decode("utf-8"))
            except UnicodeDecodeError as exc:
                bad.append((f"undecodable bytes at {where} line {number}: {exc.reason}", line))
        columns = header.decode("utf-8-sig", errors="replace").strip().split(",")
        rows = list(csv.DictReader(io.StringIO("\n".join(decoded)), fieldnames=columns))
        good, rejected = split_records(contract, rows)
        bad.extend(rejected)
        if error:
            bad.append(_file_error(item, error, tail, len(lines)))
        count(metrics, received=len(lines) + (1 if error else 0), quarantined=len(bad))
        if good:
            ((keep, newer),) = seen.newest([(where, _key_table(contract, good))])
            if newer:
                older = [r for r, k in zip(good, keep, strict=True) if not k]
                yield _set_aside(contract, where, older, newer)
                good = [r for r, k in zip(good, keep, strict=True) if k]
        if good:
            yield good
        if bad:
            log.warning("%s: %d record(s) quarantined from %s", contract.resource, len(bad), where)
            yield quarantine_rows(contract.resource, bad)


def _key_table(contract: Contract, records: list[dict[str, Any]]) -> pa.Table:
    return pa.table({k: [r[k] for r in records] for k in contract.primary_key})
