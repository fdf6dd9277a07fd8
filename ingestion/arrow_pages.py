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

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
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
    declared = set(contract.column_names)
    extras = list(dict.fromkeys(k for r in records for k in r if k not in declared))
    if DLT_ID in extras:
        return None
    arrays: list[pa.Array] = []
    names: list[str] = []
    try:
        for column in contract.columns:
            values = [r.get(column.name) for r in records]
            array = pa.array(values, type=_CHECKED_TYPES[column.data_type])
            if column.data_type == "timestamp":
                # Contract timestamps carry a zone (REST sends ...Z); naive text fails here.
                array = pc.cast(array, _UTC)
            arrays.append(array)
            names.append(column.name)
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
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    arrays.append(pa.array(generate_dlt_ids(len(records)), type=pa.string()))
    names.append(DLT_ID)
    # Keys and row ids hold no nulls: saying so keeps the Arrow schema in line with dlt's.
    required = {*contract.primary_key, DLT_ID}
    schema = pa.schema(
        pa.field(n, a.type, nullable=n not in required) for n, a in zip(names, arrays, strict=True)
    )
    return pa.Table.from_arrays(arrays, schema=schema)
