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
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
from dlt.common import json
from dlt.common.storages.fsspec_filesystem import FileItemDict
from isal import isal_zlib

from ingestion.arrow_pages import checked_contract_table, contract_arrow_schema, with_extra_columns
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


def _read_blob(
    blob: bytes, expected_rows: int, schema: pa.Schema, others: str = "infer"
) -> pa.Table | None:
    try:
        # Arrow does not check UTF-8 while parsing; a bad byte must not reach the warehouse.
        blob.decode("utf-8")
        table = pa_json.read_json(
            io.BytesIO(blob),
            read_options=_ONE_THREAD,
            parse_options=_parse_options(schema, others),
        )
    except (UnicodeDecodeError, pa.ArrowInvalid):
        return None
    # Two objects on one line parse as two rows: not the one-record-per-line contract.
    return table if table.num_rows == expected_rows else None


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


# Files are parsed on read-ahead threads already; Arrow's own threads on top only add work.
_ONE_THREAD = pa_json.ReadOptions(use_threads=False)


def _parse_options(schema: pa.Schema, others: str = "infer") -> pa_json.ParseOptions:
    return pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior=others)


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
    contract: Contract,
    items: list[FileItemDict],
    seen: DeliveredKeys,
    later_outside: frozenset[str] = frozenset(),
) -> Iterator[Any]:
    """Flat JSONL records as typed Arrow tables (fast path: one Arrow parse per file)."""
    schema = arrow_schema(contract)

    def read_file(item: FileItemDict) -> FileResult:
        return _jsonl_file_arrow(contract, schema, item)

    def read_keys(item: FileItemDict) -> pa.Table | None:
        keys = _jsonl_keys(contract, item)
        return keys if keys is not None else _keys(contract, read_file(item)[1])

    yield from _read_flat(contract, items, seen, read_file, later_outside, read_keys)


# How a file outside a backfill window, of which only the keys were read, is named in the
# reasons of the window's versions it supersedes.
OUTSIDE_WINDOW = "{} (outside the backfill window)"


def _jsonl_keys(contract: Contract, item: FileItemDict) -> pa.Table | None:
    """The primary keys of a JSONL file in one Arrow parse of those fields alone (no other
    field is built or checked), or None when that parse cannot read the file whole (a
    damaged line): the caller then takes the keys the file's check loads."""
    data, error = file_bytes(item)
    data, _ = _split_damaged(data, error)
    schema = contract_arrow_schema(contract)
    key_schema = pa.schema(schema.field(k) for k in contract.primary_key)
    keys = _read_blob(data, _line_count(data), key_schema, others="ignore") if data else None
    return keys.drop_null() if keys is not None else None


def _keys(contract: Contract, table: pa.Table | None) -> pa.Table | None:
    return table.select(list(contract.primary_key)) if table is not None else None


def _read_flat(
    contract: Contract,
    items: list[FileItemDict],
    seen: DeliveredKeys,
    read_file: Callable[[FileItemDict], FileResult],
    later_outside: frozenset[str],
    read_keys: Callable[[FileItemDict], pa.Table | None],
) -> Iterator[Any]:
    """Each file read by ``read_file`` on the read-ahead threads into one checked Arrow
    table; the tables of several files go to dlt together, without the older deliveries of
    keys (``_newest_arrow``). Of the files in ``later_outside`` (delivered after a backfill
    window's files, outside it) only the keys are read (``read_keys``), in delivery order
    with the others: they set the window's older versions aside."""

    def work(item: FileItemDict) -> FileResult:
        if item["relative_path"] in later_outside:
            # Received, checked and counted by the run that loaded the file, not this one.
            return 0, read_keys(item), []
        return read_file(item)

    metrics = dlt.current.resource_metrics()
    pending: list[tuple[str, pa.Table]] = []
    for item, (received, kept, bad) in zip(items, read_ahead(work, items), strict=True):
        where = item["relative_path"]
        if kept is not None and kept.num_rows:
            pending.append((where, kept))
        count(metrics, received=received, quarantined=len(bad))
        if bad:
            log.warning("%s: %d record(s) quarantined from %s", contract.resource, len(bad), where)
            yield quarantine_rows(contract.resource, bad)
        if sum(t.num_rows for _, t in pending) >= ARROW_BATCH_ROWS:
            yield from _newest_arrow(contract, seen, pending, later_outside)
            pending = []
    if pending:
        yield from _newest_arrow(contract, seen, pending, later_outside)


def _newest_arrow(
    contract: Contract,
    seen: DeliveredKeys,
    files: list[tuple[str, pa.Table]],
    later_outside: frozenset[str],
) -> Iterator[Any]:
    """The files' rows as one table, without the older deliveries of keys a file read
    before in this load had (those are set aside)."""
    tables = []
    checked = seen.newest(_named(files, later_outside))
    for (where, table), (keep, newer) in zip(files, checked, strict=True):
        if where in later_outside:
            continue  # keys only: they set the window's older versions aside
        if newer:
            yield _set_aside(contract, where, table.filter(pa.array(~keep)).to_pylist(), newer)
            table = table.filter(pa.array(keep))
        tables.append(table)
    joined = _concat(tables) if tables else None
    if joined is not None and joined.num_rows:
        yield joined


def _named(files: list[tuple[str, T]], later_outside: frozenset[str]) -> list[tuple[str, T]]:
    """The files as the key guard remembers them: a file outside the backfill window says so."""
    return [
        (OUTSIDE_WINDOW.format(where) if where in later_outside else where, rows)
        for where, rows in files
    ]


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
    contract: Contract,
    items: list[FileItemDict],
    seen: DeliveredKeys,
    later_outside: frozenset[str] = frozenset(),
) -> Iterator[Any]:
    """JSONL records with nested lists as Arrow tables: the records, then one table per list
    (``nested_arrow``), a batch of files at a time. Of the files in ``later_outside``
    (delivered after a backfill window's files, outside it) only the keys are read, each
    file as a page without lists or records."""

    def work(item: FileItemDict) -> FileResult:
        if item["relative_path"] not in later_outside:
            return _jsonl_file_nested(contract, item)
        keys = _jsonl_keys(contract, item)
        if keys is None:
            checked = _jsonl_file_nested(contract, item)[1]
            keys = _keys(contract, checked[0].root if checked else None)
        return 0, (NestedPage(keys, {}), []) if keys is not None else None, []

    metrics = dlt.current.resource_metrics()
    pending: list[tuple[str, NestedPage, list[Any]]] = []
    for item, (received, checked, bad) in zip(items, read_ahead(work, items), strict=True):
        where = item["relative_path"]
        count(metrics, received=received, quarantined=len(bad))
        if bad:
            log.warning("%s: %d record(s) quarantined from %s", contract.resource, len(bad), where)
            yield quarantine_rows(contract.resource, bad)
        if checked is not None:
            pending.append((where, *checked))
        if sum(page.root.num_rows for _, page, _ in pending) >= NESTED_BATCH_ROWS:
            yield from _newest_versions(contract, seen, pending, later_outside)
            pending = []
    if pending:
        yield from _newest_versions(contract, seen, pending, later_outside)


def _newest_versions(
    contract: Contract,
    seen: DeliveredKeys,
    pages: list[tuple[str, NestedPage, list[Any]]],
    later_outside: frozenset[str],
) -> Iterator[Any]:
    """The pages' records whose key no file read before in this load had, as dlt items. An
    older delivery of a key (files are read newest first) is set aside with its lists, so
    only the loaded version's children reach the child tables. The keys are checked once
    per batch, not per file: each check has a fixed cost in DuckDB."""
    roots = [(where, page.root) for where, page, _ in pages]
    checked = seen.newest(_named(roots, later_outside))
    tables = []
    for (where, page, records), (keep, newer) in zip(pages, checked, strict=True):
        if where in later_outside:
            continue  # keys only: they set the window's older versions aside
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


def read_csv_arrow(
    contract: Contract,
    items: list[FileItemDict],
    seen: DeliveredKeys,
    later_outside: frozenset[str] = frozenset(),
) -> Iterator[Any]:
    """CSV rows as typed Arrow tables (fast path: one Arrow parse per file, every column as
    text, typed and checked column-wise); a file with a row to reject or a value to coerce
    is checked record by record, whose reasons stay the reference. The keys of a file
    outside a backfill window are those its check loads (a spend file has a few rows)."""

    def read_file(item: FileItemDict) -> FileResult:
        return _csv_file_arrow(contract, item)

    def read_keys(item: FileItemDict) -> pa.Table | None:
        return _keys(contract, read_file(item)[1])

    yield from _read_flat(contract, items, seen, read_file, later_outside, read_keys)


# A file of a few rows is checked record by record: Arrow's parse, regex checks and casts
# cost ~3 ms a file whatever its size, the record check ~0.1 ms a row (a daily spend file at
# 100k customers has 4 rows). Same table either way (tests/ingestion/test_spend_csv.py).
CSV_ARROW_MIN_ROWS = 100
CSV_ARROW_MIN_BYTES = 1 << 16


def _csv_file_arrow(contract: Contract, item: FileItemDict) -> FileResult:
    """One CSV file as one checked Arrow table (runs on a read-ahead thread)."""
    data, error = file_bytes(item)
    small = data.count(b"\n", 0, CSV_ARROW_MIN_BYTES) < CSV_ARROW_MIN_ROWS
    table = None if error or small else _csv_checked_table(contract, data)
    if table is not None:
        return table.num_rows, table, []
    received, good, bad = _csv_file_records(contract, item, data, error)
    return received, _records_table(contract, good), bad


def _csv_checked_table(contract: Contract, data: bytes) -> pa.Table | None:
    """The file's rows typed and checked column-wise, or None unless the record check would
    load every row as it is: a header it would not read the same (blank line first, an empty
    or repeated name), a row Arrow cannot read as one line of the header's width, bytes that
    are not UTF-8, a value Arrow cannot type exactly or the record check would not take, a
    row the contract rejects."""
    first, _, body = data.partition(b"\n")
    columns = _csv_header(first)
    if not body or not all(columns) or len(set(columns)) < len(columns):
        return None
    options = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=False
    )
    try:
        text = pa_csv.read_csv(
            io.BytesIO(body),
            read_options=pa_csv.ReadOptions(column_names=columns, use_threads=False),
            convert_options=options,
        )
    except pa.ArrowInvalid:
        return None
    # One row per line: no blank line the record check would skip, no quoted line break.
    if text.num_rows != _line_count(body):
        return None
    table = _csv_typed(contract, text)
    if table is None:
        return None
    kept, rejected = split_arrow(contract, table)
    return None if rejected else kept


def _csv_header(line: bytes) -> list[str]:
    """The column names as the record check reads them (a byte-order mark dropped)."""
    return line.decode("utf-8-sig", errors="replace").strip().split(",")


# What the record check takes as an integer or an amount (``int()``, ``Decimal()``) and
# Arrow's cast reads as the same number; Arrow also reads ``0x10`` as 16, which it refuses.
_NUMBER_TEXT = {
    "bigint": r"^-?[0-9]+$",
    "decimal": r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$",
}
# The types whose Arrow casts were checked against the record check's coercions (spend's);
# a contract with another type (or a derived column) reads its CSV files record by record.
_CSV_TYPES = {"text", "date", "decimal", "bigint"}


def _csv_typed(contract: Contract, text: pa.Table) -> pa.Table | None:
    """The contract's columns of an all-text table typed as the record check types them
    (empty text is a missing value, but in text columns other than keys; a column absent
    from the file is null), then the file's other columns as text; None when a value does
    not cast exactly."""
    if any(c.data_type not in _CSV_TYPES or c.derived_from for c in contract.columns):
        return None
    schema = contract_arrow_schema(contract)
    arrays = []
    for column, field in zip(contract.columns, schema, strict=True):
        if column.name not in text.column_names:
            arrays.append(pa.nulls(text.num_rows, field.type))
            continue
        values = text[column.name]
        if column.data_type != "text" or column.name in contract.primary_key:
            values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
        if column.data_type != "text":
            pattern = _NUMBER_TEXT.get(column.data_type)
            if pattern and pc.any(pc.invert(pc.match_substring_regex(values, pattern))).as_py():
                return None
            try:
                values = pc.cast(values, field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        arrays.append(values)
    extras = [name for name in text.column_names if name not in contract.column_names]
    return pa.Table.from_arrays(
        [*arrays, *(text[name] for name in extras)], names=[*contract.column_names, *extras]
    )


def _csv_file_records(
    contract: Contract, item: FileItemDict, data: bytes, error: str | None
) -> FileResult:
    """The record check of one CSV file: a row it cannot decode or type is quarantined alone."""
    where = item["relative_path"]
    data, tail = _split_damaged(data, error)
    (_, header), *lines = numbered_lines(data) or [(1, b"")]
    bad: list[tuple[str, Any]] = []
    decoded: list[str] = []
    for number, line in lines:
        try:
            decoded.append(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            bad.append((f"undecodable bytes at {where} line {number}: {exc.reason}", line))
    rows = list(csv.DictReader(io.StringIO("\n".join(decoded)), fieldnames=_csv_header(header)))
    good, rejected = split_records(contract, rows)
    bad.extend(rejected)
    if error:
        bad.append(_file_error(item, error, tail, len(lines)))
    return len(lines) + (1 if error else 0), good, bad


def _records_table(contract: Contract, records: list[dict[str, Any]]) -> pa.Table | None:
    """Records the record check has passed as the Arrow table the fast path makes."""
    if not records:
        return None
    table = with_extra_columns(checked_contract_table(contract, records), contract, records)
    # Keys hold no nulls here either (``split_arrow`` says so of the fast path's tables).
    keys = set(contract.primary_key)
    return table.cast(pa.schema(f.with_nullable(f.name not in keys) for f in table.schema))
