"""Nothing is dropped silently: records that cannot be loaded go to ``<dataset>._quarantine``.

Quarantined rows travel in the same dlt load package as the good rows (a table variant of
the resource), so they commit or fail together with the data they were rejected from.
Every resource also counts what it received and what it rejected in dlt's custom resource
metrics; ``ingestion.reconciliation`` turns those into the audit trail after the load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any, ClassVar

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common import json
from dlt.extract.items_transform import ItemTransform

from ingestion.arrow_pages import (
    checked_contract_table,
    field_values,
    raw_contract_table,
    raw_records_to_arrow,
    records_to_arrow,
    with_extra_columns,
)
from ingestion.contracts import (
    Column,
    Contract,
    ContractViolation,
    as_timestamp,
    future_cutoff,
    parse_timestamp,
)
from ingestion.nested_arrow import (
    NestedPage,
    declare_child_tables,
    list_positions,
    load_tables,
    mark_tables,
    root_id_hint,
)

QUARANTINE_TABLE = "_quarantine"
_UTC = pa.timestamp("us", tz="UTC")

QUARANTINE_COLUMNS = {
    "resource": {"name": "resource", "data_type": "text", "nullable": False},
    "reason": {"name": "reason", "data_type": "text", "nullable": False},
    "payload": {"name": "payload", "data_type": "text"},
    "load_id": {"name": "load_id", "data_type": "text", "nullable": False},
    "quarantined_at": {"name": "quarantined_at", "data_type": "timestamp", "nullable": False},
}

# Append-only and keyless, whatever the resource it was rejected from merges on.
_QUARANTINE_HINT_ARGS: dict[str, Any] = {
    "table_name": QUARANTINE_TABLE,
    "write_disposition": "append",
    "primary_key": [],
    "merge_key": [],
    "columns": QUARANTINE_COLUMNS,
}
_QUARANTINE_HINTS = dlt.mark.make_hints(**_QUARANTINE_HINT_ARGS)


def current_load_id() -> str:
    return dlt.current.load_package_state()["load_id"]


def payload_text(payload: Any) -> str:
    """The rejected input as JSON text, lossless enough to replay or inspect by hand."""
    if isinstance(payload, bytes):
        # Undecodable input keeps its bytes visible as escapes instead of being lost.
        return json.dumps({"raw": payload.decode("utf-8", errors="backslashreplace")})
    if isinstance(payload, str):
        return json.dumps({"raw": payload})
    try:
        return json.dumps(payload)
    except TypeError:
        return json.dumps({"raw": repr(payload)})


def quarantine_rows(resource: str, rejected: list[tuple[str, Any]]) -> Any:
    """Mark (reason, payload) pairs for the quarantine table of the current dataset."""
    load_id = current_load_id()
    now = datetime.now(UTC)
    rows = [
        {
            "resource": resource,
            "reason": reason,
            "payload": payload_text(payload),
            "load_id": load_id,
            "quarantined_at": now,
        }
        for reason, payload in rejected
    ]
    return dlt.mark.with_hints(rows, _QUARANTINE_HINTS, create_table_variant=True)


def count(metrics: dict[str, Any], received: int = 0, quarantined: int = 0) -> None:
    """Add to the per-load counters kept in a resource's custom metrics.

    Counters are keyed by load id so that a source object extracted twice (as Dagster may
    do) never carries counts from an earlier load into the next one.
    """
    load_id = current_load_id()
    if metrics.get("load_id") != load_id:
        metrics.clear()
        metrics.update(load_id=load_id, received=0, quarantined=0)
    metrics["received"] += received
    metrics["quarantined"] += quarantined


Known = Callable[[str], frozenset[str] | None]


def split_records(
    contract: Contract, records: list[Any], known: Known | None = None
) -> tuple[list[dict[str, Any]], list[tuple[str, Any]]]:
    """Loadable records and (reason, payload) rejects; a key repeated within the batch keeps
    its last version (pages and files are written oldest first) and rejects the others."""
    cutoff = future_cutoff()
    good: list[dict[str, Any]] = []
    bad: list[tuple[str, Any]] = []
    for record in records:
        try:
            good.append(contract.check(record, cutoff, known))
        except ContractViolation as exc:
            bad.append((f"contract: {exc}", record))
    keys = contract.primary_key
    last = {tuple(r[k] for k in keys): i for i, r in enumerate(good)}
    if len(last) == len(good):
        return good, bad
    kept = set(last.values())
    for i, record in enumerate(good):
        if i not in kept:
            bad.append((duplicate_reason(contract, record), record))
    return [r for i, r in enumerate(good) if i in kept], bad


def duplicate_reason(contract: Contract, row: dict[str, Any]) -> str:
    key = ", ".join(f"`{k}`={row.get(k)!r}" for k in contract.primary_key)
    return f"contract: duplicate primary key {key} in the same batch; a later version was kept"


def superseded_reason(contract: Contract, row: dict[str, Any], where: str, newer: str) -> str:
    """Why a file drop's record is set aside: the same key was delivered again later (a file
    read earlier in this load, newest delivery first), and that version is the one loaded."""
    key = ", ".join(f"`{k}`={_key_text(row.get(k))}" for k in contract.primary_key)
    return (
        f"contract: duplicate primary key {key} in {where} superseded by a newer delivery "
        f"of the same key in {newer}, loaded instead"
    )


def _key_text(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def split_arrow(
    contract: Contract, table: pa.Table, known: Known | None = None, duplicates: bool = True
) -> tuple[pa.Table, list[tuple[str, Any]]]:
    """The Arrow counterpart of ``split_records``: types are settled by the Arrow schema, so
    only missing values, semantic rules and repeated keys can reject a row. ``duplicates``
    False leaves keys repeated in the table to the caller (``load_keys.SeenKeys``)."""
    reasons: list[tuple[str, Any]] = []
    bad_mask = _missing_mask(contract, table)
    if bad_mask is not None and pc.any(bad_mask).as_py():
        required = list(dict.fromkeys(_required(contract)))
        for row in table.filter(bad_mask).to_pylist():
            absent = next(n for n in required if row.get(n) is None)
            kind = "primary key" if absent in contract.primary_key else "required field"
            reasons.append((f"contract: missing {kind} `{absent}`", row))
        table = table.filter(pc.invert(bad_mask))
    table, semantic = _split_semantic(contract, table, known)
    reasons.extend(semantic)
    if duplicates:
        table, repeated = _split_duplicates(contract, table)
        reasons.extend(repeated)
    return _keys_not_null(_without_empty_extras(contract, table), contract.primary_key), reasons


def checked_nested_tables(
    contract: Contract, records: list[Any], known: Known | None = None
) -> NestedPage | None:
    """A page of records with nested lists (orders and their lines and refunds) checked
    column-wise: the records and each nested list as typed Arrow tables (``NestedPage``,
    with the fields outside the contract) when every record and
    every nested item passes the contract; None when anything is to reject or to coerce (an
    integer id, a float amount, a repeated key...), and the page takes the record-by-record
    check, whose reasons stay the reference."""
    if not records or not set(map(type, records)) <= {dict}:
        return None
    root = raw_contract_table(contract, records)
    if root is None or _has_empty_key(contract, root) or split_arrow(contract, root, known)[1]:
        return None
    children = {}
    for name, child in contract.nested.items():
        lists = field_values(records, name)
        if not set(map(type, lists)) <= _LIST_OR_NONE:
            return None
        items = list(chain.from_iterable(filter(None, lists)))
        if not set(map(type, items)) <= {dict}:
            return None
        table = raw_contract_table(child, items) if items else None
        if items and (
            table is None or _has_empty_key(child, table) or split_arrow(child, table, known)[1]
        ):
            return None
        if table is not None:
            children[name] = (with_extra_columns(table, child, items), *list_positions(lists))
    return NestedPage(with_extra_columns(root, contract, records), children)


# A nested list as JSON sends it (type checks in C: ``set(map(type, values))``; a subclass of
# list or dict takes the record check, slower, never different).
_LIST_OR_NONE = {list, type(None)}


def checked_records_page(contract: Contract, records: list[dict[str, Any]]) -> NestedPage:
    """Records the record check has passed (values coerced) as a ``NestedPage``."""
    children = {}
    for name, child in contract.nested.items():
        lists = [r.get(name) for r in records]
        items = [item for v in lists if v for item in v]
        if items:
            table = checked_contract_table(child, items)
            children[name] = (with_extra_columns(table, child, items), *list_positions(lists))
    root = checked_contract_table(contract, records)
    return NestedPage(with_extra_columns(root, contract, records), children)


def _has_empty_key(contract: Contract, table: pa.Table) -> bool:
    # The record check takes an empty text key for a missing one.
    return any(
        pa.types.is_string(table[k].type) and pc.any(pc.equal(table[k], "")).as_py()
        for k in contract.primary_key
    )


def _without_empty_extras(contract: Contract, table: pa.Table) -> pa.Table:
    """Drop columns outside the contract that only rejected rows had (e.g. a renamed field):
    they would otherwise reach the warehouse as empty new columns."""
    known = set(contract.column_names)
    empty = [
        name
        for name in table.column_names
        if name not in known and table[name].null_count == table.num_rows
    ]
    return table.drop_columns(empty) if empty else table


def _required(contract: Contract) -> list[str]:
    return [*contract.primary_key, *(c.name for c in contract.columns if c.required)]


def _missing_mask(contract: Contract, table: pa.Table) -> pa.ChunkedArray | None:
    bad_mask = None
    for name in dict.fromkeys(_required(contract)):
        if name not in table.column_names:
            missing = pa.array([True] * table.num_rows)
        else:
            missing = pc.is_null(table[name])
        bad_mask = missing if bad_mask is None else pc.or_(bad_mask, missing)
    return bad_mask


def _semantic_mask(column: Column, values: Any, cutoff: datetime, known: Known | None) -> Any:
    """True where a typed value breaks a rule of its column (null where the value is null)."""
    masks = []
    if column.min_value is not None:
        masks.append(pc.less(values, pa.scalar(column.min_value).cast(pa.float64())))
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        masks.append(pc.greater(pc.utf8_length(values), column.max_chars))
        if column.references and known is not None:
            allowed = known(column.references)
            if allowed is not None:
                masks.append(pc.invert(pc.is_in(values, pa.array(sorted(allowed)))))
    if pa.types.is_timestamp(values.type):
        limit = cutoff if values.type.tz else cutoff.replace(tzinfo=None)
        masks.append(pc.greater(values, pa.scalar(limit, type=pa.timestamp("us", values.type.tz))))
    mask = None
    for m in masks:
        mask = m if mask is None else pc.or_(mask, m)
    return mask


def _split_semantic(
    contract: Contract, table: pa.Table, known: Known | None
) -> tuple[pa.Table, list[tuple[str, Any]]]:
    cutoff = future_cutoff()
    bad_mask = None
    for column in contract.columns:
        if column.name not in table.column_names:
            continue
        mask = _semantic_mask(column, table[column.name], cutoff, known)
        if mask is not None:
            mask = pc.fill_null(mask, False)
            bad_mask = mask if bad_mask is None else pc.or_(bad_mask, mask)
    if bad_mask is None or not pc.any(bad_mask).as_py():
        return table, []
    reasons = []
    for row in table.filter(bad_mask).to_pylist():
        try:
            contract.check(_loosely_typed(row), cutoff, known)
            reason = "contract: rejected by a semantic rule"
        except ContractViolation as exc:
            reason = f"contract: {exc}"
        reasons.append((reason, row))
    return table.filter(pc.invert(bad_mask)), reasons


def _loosely_typed(row: dict[str, Any]) -> dict[str, Any]:
    # Arrow gives datetimes and dates; the record checks take them as they are.
    return {
        k: (v.isoformat() if isinstance(v, date) and not isinstance(v, datetime) else v)
        for k, v in row.items()
    }


def _split_duplicates(
    contract: Contract, table: pa.Table
) -> tuple[pa.Table, list[tuple[str, Any]]]:
    keys = list(contract.primary_key)
    if table.num_rows < 2 or any(k not in table.column_names for k in keys):
        return table, []
    # Most tables repeat no key: counting the distinct keys says so at a quarter of the cost
    # of finding each key's last row.
    if table.select(keys).group_by(keys, use_threads=False).aggregate([]).num_rows == len(table):
        return table, []
    index = pa.array(range(table.num_rows), type=pa.int64())
    latest = (
        table.select(keys)
        .append_column("_row", index)
        .group_by(keys, use_threads=False)
        .aggregate([("_row", "max")])
    )
    if latest.num_rows == table.num_rows:
        return table, []
    keep = pc.is_in(index, latest["_row_max"])
    dropped = table.filter(pc.invert(keep)).to_pylist()
    return table.filter(keep), [(duplicate_reason(contract, r), r) for r in dropped]


def _keys_not_null(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    # The keys hold no nulls any more; saying so keeps Arrow's schema in line with dlt's.
    fields = [f.with_nullable(False) if f.name in keys else f for f in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _is_quarantine(meta: Any) -> bool:
    hints = getattr(meta, "hints", None)
    return bool(hints) and hints.get("table_name") == QUARANTINE_TABLE


class GuardedIncremental(dlt.sources.incremental[Any]):
    """dlt's incremental for a resource with a ``CursorGuardStep``: the guard's quarantine
    rows pass it untouched.

    They carry no cursor, so dlt must neither filter them (a backfill window's
    ``on_cursor_value_missing="exclude"`` dropped them, uncounted) nor track a cursor on them:
    as dicts they get a transform of their own beside the Arrow chunks', whose last value
    is still ``None`` on a first load, and with a ``lag`` dlt then compared ``None`` with the
    chunks' cursor (``TypeError`` on the first bad cursor after the first chunk); without a
    lag, that ``None`` would have overwritten the cursor."""

    def __call__(self, rows: Any, meta: Any = None) -> Any:
        if _is_quarantine(meta):
            return rows
        return super().__call__(rows, meta)


class CursorGuardStep(ItemTransform[Any, dict[str, Any]]):
    """Pipe step before dlt's incremental step: a record whose cursor is not a timestamp, or
    lies in the future, would corrupt the incremental state (a string like "n/a" or a year
    2099 sorts after every real date, and every later run would skip all real changes), so
    it is quarantined before dlt compares it."""

    placement_affinity: ClassVar[float] = 0.5

    def __init__(self, validator: ValidateStep, cursor: str = "updated_at") -> None:
        super().__init__(lambda item: item)
        self.contract = validator.contract
        self.cursor = cursor
        # One set of counters per resource: dlt merges step metrics key by key, so two
        # steps with their own "received" would overwrite each other.
        self._custom_metrics = validator.custom_metrics

    def _bad_cursor(self, record: Any, cutoff: datetime) -> str | None:
        if not isinstance(record, dict):
            return f"contract: expected a JSON object, got {type(record).__name__}"
        value = record.get(self.cursor)
        if value is None:
            return f"contract: missing required field `{self.cursor}`"
        try:
            as_timestamp(value)
            moment = parse_timestamp(value)
        except (ContractViolation, ValueError) as exc:
            return f"contract: field `{self.cursor}`: {exc}"
        if moment > cutoff:
            return f"contract: field `{self.cursor}`: date in the future: {moment.isoformat()}"
        return None

    def _split_arrow(self, table: pa.Table, cutoff: datetime) -> tuple[pa.Table, list]:
        if self.cursor not in table.column_names:
            return table, []
        values = table[self.cursor]
        if not pa.types.is_timestamp(values.type):
            return table, []
        limit = cutoff if values.type.tz else cutoff.replace(tzinfo=None)
        ahead = pc.fill_null(pc.greater(values, pa.scalar(limit, type=values.type)), False)
        if not pc.any(ahead).as_py():
            return table, []
        bad = [
            (f"contract: field `{self.cursor}`: date in the future: {row[self.cursor]}", row)
            for row in table.filter(ahead).to_pylist()
        ]
        return table.filter(pc.invert(ahead)), bad

    def _split_records(self, records: list[Any], cutoff: datetime) -> tuple[list, list]:
        if self._all_in_the_past(records, cutoff):
            return records, []
        good, bad = [], []
        for record in records:
            reason = self._bad_cursor(record, cutoff)
            if reason:
                bad.append((reason, record))
            else:
                good.append(record)
        return good, bad

    def _all_in_the_past(self, records: list[Any], cutoff: datetime) -> bool:
        """Whether every record is an object whose cursor Arrow reads as a timestamp with a
        zone, none later than ``cutoff``: the usual page, settled in one Arrow pass instead
        of two ISO parses per record. Arrow reads a subset of the texts the record check
        takes (none without a zone, with blanks around or with more than six decimals), as
        the same moments; a page with any other text takes the record check."""
        if not set(map(type, records)) <= {dict}:
            return False
        try:
            moments = pc.cast(pa.array(field_values(records, self.cursor), pa.string()), _UTC)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return False
        if moments.null_count:
            return False
        return not pc.any(pc.greater(moments, pa.scalar(cutoff, _UTC))).as_py()

    def __call__(self, item: Any, meta: Any = None) -> Iterator[Any]:
        if _is_quarantine(meta):
            yield item
            return
        cutoff = future_cutoff()
        if isinstance(item, pa.Table | pa.RecordBatch):
            table = pa.Table.from_batches([item]) if isinstance(item, pa.RecordBatch) else item
            good_table, bad = self._split_arrow(table, cutoff)
            good: Any = good_table if good_table.num_rows else None
        else:
            good, bad = self._split_records(item if isinstance(item, list) else [item], cutoff)
        if bad:
            count(self._custom_metrics, received=len(bad), quarantined=len(bad))
            yield quarantine_rows(self.contract.resource, bad)
        if good is not None and len(good):
            yield good


class ValidateStep(ItemTransform[Any, dict[str, Any]]):
    """Pipe step that splits each page into loadable rows and quarantined rows.

    It sits after dlt's incremental step (which has affinity 1) so that "received" counts
    only the records this load actually takes, and before ``add_limit`` (1.1).
    """

    placement_affinity: ClassVar[float] = 1.05

    def __init__(
        self,
        contract: Contract,
        known: Known | None = None,
        as_arrow: bool = False,
        seen: Any = None,
    ) -> None:
        super().__init__(lambda item: item)
        self.contract = contract
        self.known = known
        # The keys of this load so far (load_keys.SeenKeys), for resources merged by upsert.
        self.seen = seen
        # Hand checked pages of flat records to dlt as Arrow tables (see arrow_pages).
        self.as_arrow = as_arrow

    def _nested(self, records: list[Any]) -> tuple[list[Any], list[tuple[str, Any]]]:
        """A page of records with nested lists as Arrow tables for dlt (the records, then one
        table per list: ``nested_arrow``) and the rejects. Column-wise when nothing is to
        reject or coerce, else record by record. A record whose key an earlier batch of this
        load already had is quarantined with its lists: separate merge jobs could not keep
        only the newest version's children (the lag window brings the newest next run)."""
        page = checked_nested_tables(self.contract, records, self.known)
        bad: list[tuple[str, Any]] = []
        payloads = records
        if page is None:
            payloads, bad = split_records(self.contract, records, self.known)
            if not payloads:
                return [], bad
            page = checked_records_page(self.contract, payloads)
        keep = np.ones(page.root.num_rows, dtype=bool)
        if self.seen is not None:
            keep = self.seen.new_keys(page.root)
        if not keep.all():
            bad += [(self.seen.reason, payloads[i]) for i in np.flatnonzero(~keep).tolist()]
            page = page.take(keep)
        if not page.root.num_rows:
            return [], bad
        return mark_tables(load_tables(self.contract, page)), bad

    def __call__(self, item: Any, meta: Any = None) -> Iterator[Any]:
        if _is_quarantine(meta):
            # Already rejected upstream (and counted there): pass on to the quarantine table.
            yield dlt.mark.with_hints(item, _QUARANTINE_HINTS, create_table_variant=True)
            return
        if isinstance(item, pa.RecordBatch):
            item = pa.Table.from_batches([item])
        if isinstance(item, pa.Table):
            # With a key guard, it settles the keys repeated within the table too.
            good, bad = split_arrow(self.contract, item, self.known, duplicates=self.seen is None)
            received = item.num_rows
        else:
            records = item if isinstance(item, list) else [item]
            received = len(records)
            if self.as_arrow and self.contract.nested:
                items, bad = self._nested(records)
                count(self._custom_metrics, received=received, quarantined=len(bad))
                yield from items
                if bad:
                    yield quarantine_rows(self.contract.resource, bad)
                return
            # Column-wise when the page converts to Arrow as it is; record by record else.
            page = raw_records_to_arrow(self.contract, records) if self.as_arrow else None
            if page is not None:
                good, bad = split_arrow(self.contract, page, self.known)
            else:
                good, bad = split_records(self.contract, records, self.known)
                if self.as_arrow:
                    table = records_to_arrow(self.contract, good)
                    good = good if table is None else table
                if self.contract.nested and isinstance(good, list):
                    # Nested records stay dicts for dlt's normaliser: spare it the parsing.
                    good = self.contract.with_parsed_timestamps(good)
        if self.seen is not None and isinstance(good, pa.Table):
            good, repeated = self.seen.split(good)
            bad = [*bad, *repeated]
        count(self._custom_metrics, received=received, quarantined=len(bad))
        if (good.num_rows if isinstance(good, pa.Table) else len(good)) > 0:
            yield good
        if bad:
            yield quarantine_rows(self.contract.resource, bad)


def with_quarantine_table(resource: Any) -> Any:
    """Declare the quarantine table variant before any other hint of the resource.

    dlt starts a new variant from the resource's current hints; declared first, it inherits
    none of the contract's columns, keys or incremental cursor.
    """
    resource.apply_hints(**_QUARANTINE_HINT_ARGS, create_table_variant=True)
    return resource


def with_validation(
    resource: Any,
    contract: Contract,
    step: bool = True,
    cursor_guard: str | None = None,
    known: Known | None = None,
    as_arrow: bool = False,
    upsert: bool = False,
    dedup_sort: str | None = None,
    seen: Any = None,
) -> Any:
    """Attach the contract to a dlt resource: quarantine variant, column hints and (unless the
    resource validates while reading, like the file readers) the validation step, plus a
    guard on the incremental ``cursor_guard`` column when given. Two versions of a key in one
    load resolve by ``dedup_sort``, by default ``cursor_guard`` (a backfill window's cursor is
    a business timestamp, not the version's).

    ``upsert=True`` (a step over Arrow tables) merges the resource on its primary key by
    dlt's ``upsert`` and quarantines a key already extracted in the same load (load_keys.py);
    otherwise it merges by delete-insert; ``seen`` replaces that key guard (a subclass of
    ``load_keys.SeenKeys``: POS trusts a key its database enforces). With ``as_arrow``, a
    contract's nested lists become tables of their own, variants of this resource
    (``nested_arrow``), and a key already extracted in the load is quarantined with its
    lists."""
    with_quarantine_table(resource)
    nested_as_arrow = bool(contract.nested) and as_arrow
    if nested_as_arrow:
        # The lists become tables of their own, fed by this resource (nested_arrow.py);
        # declared before the parent's hints, which they must not inherit.
        declare_child_tables(resource, contract)
    hints = contract.column_hints()
    dedup_sort = dedup_sort or cursor_guard
    if dedup_sort in hints:
        # Two versions of a key in one load (a record updated while it was being paged):
        # the merge keeps the latest, not an arbitrary one.
        hints[dedup_sort]["dedup_sort"] = "desc"
    if nested_as_arrow:
        hints.update(root_id_hint())
    resource.apply_hints(columns=hints)
    if contract.nested and not nested_as_arrow:
        resource.apply_hints(nested_hints=contract.nested_hints())
    if step:
        from ingestion.load_keys import SeenKeys, merge_disposition

        if seen is None and upsert:
            seen = SeenKeys(contract, last_in_batch=True)
        if nested_as_arrow:
            seen = SeenKeys(contract)
        if upsert:
            resource.apply_hints(write_disposition=merge_disposition(upsert))
        validator = ValidateStep(contract, known, as_arrow, seen)
        resource.add_step(validator)
        if cursor_guard:
            resource.add_step(CursorGuardStep(validator, cursor_guard))
    return resource
