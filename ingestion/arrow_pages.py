"""Validated pages of flat JSON records as Arrow tables, so dlt loads them on its Arrow path.

dlt's JSON normaliser visits every value of every record in Python (coercion, flattening,
row ids) and was the largest cost of the REST sources. A page whose records the contract
has already checked converts to a typed Arrow table column by column instead, with the
same ``_dlt_id`` row ids the normaliser would add, so the raw tables are the same either
way. Anything unusual on a page (a nested value in a field outside the contract, a
timestamp without a zone offset, an amount with more than two decimals) keeps the page
on the normaliser's path: slower, never different.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain, repeat
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common import json
from dlt.common.normalizers.utils import generate_dlt_ids

from ingestion.contracts import Contract

DLT_ID = "_dlt_id"

# How the checked values arrive (contracts.COERCERS): timestamps stay ISO text for now.
_CHECKED_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.string(),
    "date": pa.date32(),
    "decimal": pa.decimal128(18, 2),
}
_UTC = pa.timestamp("us", tz="UTC")


def records_to_arrow(contract: Contract, records: list[dict[str, Any]]) -> pa.Table | None:
    """The checked ``records`` as one Arrow table, or None when they must stay dicts."""
    if contract.nested or not records:
        return None
    try:
        arrays = [_checked_array(column, records) for column in contract.columns]
        return _with_extras_and_ids(contract, records, arrays)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def raw_records_to_arrow(contract: Contract, records: list[Any]) -> pa.Table | None:
    """Unchecked JSON ``records`` as a typed Arrow table, so the contract can be checked
    column-wise (``quarantine.split_arrow``) instead of value by value; None whenever a
    value is not already of its column's JSON type (an id sent as a number, an amount as a
    float, a date that does not parse...): such a page takes the record-by-record check,
    whose coercions and reasons stay the reference."""
    if contract.nested or not records or not all(isinstance(r, dict) for r in records):
        return None
    table = raw_contract_table(contract, records)
    if table is None:
        return None
    return _with_extras_and_ids(contract, records, table.columns)


def raw_contract_table(contract: Contract, records: list[dict[str, Any]]) -> pa.Table | None:
    """The contract columns of unchecked JSON ``records`` as a typed Arrow table (fields
    outside the contract and nested lists left out, no row ids); None whenever a value is not
    already of its column's JSON type or Arrow cannot type it exactly.

    Arrow converts the records in one pass (a struct array of the contract's columns, whose
    converter refuses anything but text for text, booleans for booleans); only numbers are
    looked at in Python, because Arrow takes a float for an integer (1.5 becomes 1) and a
    boolean for a float."""
    try:
        rows = pa.array(records, type=_raw_struct(contract))
        if rows.null_count or not _numbers_exact(contract, records):
            return None
        arrays = [_raw_column(column, rows, records) for column in contract.columns]
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return None
    return pa.Table.from_arrays(arrays, names=list(contract.column_names))


# The JSON types a raw value may have to be converted by Arrow as it is.
_NONE = type(None)
_RAW_TYPES: dict[str, set[type]] = {
    "text": {str, _NONE},
    "bigint": {int, _NONE},
    "double": {int, float, _NONE},
    "bool": {bool, _NONE},
    "timestamp": {str, _NONE},
    "date": {str, _NONE},
    "decimal": {str, _NONE},
}
# Arrow's converter is as strict as ``_RAW_TYPES`` for every type but these.
_LENIENT_TYPES = ("bigint", "double")
# What text columns become once read.
_PARSED_TYPES = {"timestamp": _UTC, "date": pa.date32(), "decimal": pa.decimal128(18, 2)}


def _raw_struct(contract: Contract) -> pa.StructType:
    """The contract's columns as sent (timestamps, dates and amounts as text); derived
    columns are not sent."""
    return pa.struct(
        (c.name, pa.string() if c.data_type in _PARSED_TYPES else _CHECKED_TYPES[c.data_type])
        for c in contract.columns
        if not c.derived_from
    )


def _numbers_exact(contract: Contract, records: list[dict[str, Any]]) -> bool:
    """Whether the integer and float columns hold only their JSON types, which Arrow's
    converter alone would not ensure (it truncates a float into an integer column)."""
    return all(
        set(map(type, field_values(records, c.name))) <= _RAW_TYPES[c.data_type]
        for c in contract.columns
        if c.data_type in _LENIENT_TYPES and not c.derived_from
    )


def _raw_column(column: Any, rows: pa.StructArray, records: list[dict[str, Any]]) -> pa.Array:
    if column.derived_from:
        source_field, marker = column.derived_from
        if rows.type.get_field_index(source_field) < 0:
            return _checked_array(column, _derived(column, records))
        return pc.fill_null(pc.equal(rows.field(source_field), marker), False)
    values = rows.field(column.name)
    if column.data_type in _PARSED_TYPES:
        # A value Arrow cannot parse exactly (a timestamp without zone, three decimals)
        # raises, and the page falls back.
        return pc.cast(values, _PARSED_TYPES[column.data_type])
    return values


def _derived(column: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    source_field, marker = column.derived_from
    return [{column.name: r.get(source_field) == marker} for r in records]


def _checked_array(column: Any, records: list[dict[str, Any]]) -> pa.Array:
    array = pa.array([r.get(column.name) for r in records], type=_CHECKED_TYPES[column.data_type])
    if column.data_type == "timestamp":
        # Contract timestamps carry a zone (REST sends ...Z); naive text fails here.
        array = pc.cast(array, _UTC)
    return array


def _with_extras_and_ids(
    contract: Contract, records: list[dict[str, Any]], arrays: list[Any]
) -> pa.Table | None:
    """The contract columns plus the fields outside the contract, and dlt's row ids."""
    extras = extra_fields(records, set(contract.column_names))
    if DLT_ID in extras:
        return None
    names = list(contract.column_names)
    for name in extras:
        values = [r.get(name) for r in records]
        if any(isinstance(v, dict | list) for v in values):
            return None
        array = pa.array(values)
        # Like the normaliser, a new upstream field that is null on every record of the
        # page adds no column (yet).
        if not pa.types.is_null(array.type):
            arrays.append(array)
            names.append(name)
    arrays.append(pa.array(generate_dlt_ids(len(records)), type=pa.string()))
    names.append(DLT_ID)
    # Keys and row ids hold no nulls: saying so keeps the Arrow schema in line with dlt's.
    required = {*contract.primary_key, DLT_ID}
    schema = pa.schema(
        pa.field(n, a.type, nullable=n not in required) for n, a in zip(names, arrays, strict=True)
    )
    return pa.Table.from_arrays(arrays, schema=schema)


def field_values(records: list[dict[str, Any]], name: str) -> list[Any]:
    """``[r.get(name) for r in records]``, looked up in C (``records`` are dicts)."""
    return list(map(dict.get, records, repeat(name)))


def extra_fields(records: list[dict[str, Any]], declared: set[str]) -> list[str]:
    """The fields of ``records`` outside ``declared``, in the order they first appear (the
    order the normaliser adds columns in). Most pages have none: the set of all keys, built
    in C, says so without a Python step per field of every record."""
    if set().union(*records) <= declared:
        return []
    return [k for k in dict.fromkeys(chain.from_iterable(records)) if k not in declared]


def contract_arrow_schema(contract: Contract) -> pa.Schema:
    """The Arrow types ``raw_contract_table`` gives the contract's columns."""
    return pa.schema(
        (c.name, _PARSED_TYPES.get(c.data_type, _CHECKED_TYPES[c.data_type]))
        for c in contract.columns
    )


def checked_contract_table(contract: Contract, records: list[dict[str, Any]]) -> pa.Table:
    """The contract columns of records the record check has coerced, typed as
    ``raw_contract_table`` types them."""
    arrays = [_checked_column(column, records) for column in contract.columns]
    return pa.Table.from_arrays(arrays, schema=contract_arrow_schema(contract))


def _checked_column(column: Any, records: list[dict[str, Any]]) -> pa.Array:
    try:
        return _checked_array(column, records)
    except pa.ArrowInvalid:
        if column.data_type != "timestamp":
            raise
    # A timestamp without a zone offset: the record check reads it as UTC, as dlt does.
    moments = [r.get(column.name) for r in records]
    return pa.array([None if m is None else _as_utc(m) for m in moments], type=_UTC)


def _as_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def with_extra_columns(
    table: pa.Table, contract: Contract, records: list[dict[str, Any]]
) -> pa.Table:
    """``table`` plus the fields of ``records`` outside the contract (and its nested lists),
    as dlt would add them; a field null on every record adds no column (yet), like the
    normaliser. A field whose values Arrow cannot type as one column loads as JSON text."""
    for name in extra_fields(records, {*contract.column_names, *contract.nested}):
        values = [r.get(name) for r in records]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array([None if v is None else json.dumps(v) for v in values], pa.string())
        if not pa.types.is_null(array.type):
            table = table.append_column(name, array)
    return table
