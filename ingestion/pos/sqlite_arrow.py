"""A ``sql_database`` table loader that reads SQLite rows raw and types them in Arrow.

SQLite stores timestamps and dates as text and money as floats. Through SQLAlchemy every
value of every row passes a Python result processor (a regex per timestamp, a ``Decimal``
per amount) and a ``Row`` object, which was most of the POS extract time. This loader lets
SQLAlchemy build and bind the query as usual (incremental filter included), fetches the
DB-API tuples as they are, and converts each chunk column by column with Arrow casts to
the types dlt's column hints ask for. Other databases (PostgreSQL: typed by its C driver)
keep dlt's own loader.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.configuration.container import Container
from dlt.common.destination.capabilities import DestinationCapabilitiesContext
from dlt.common.libs.pyarrow import get_py_arrow_datatype
from dlt.sources.sql_database.arrow_helpers import row_tuples_to_arrow
from dlt.sources.sql_database.helpers import TableLoader

log = logging.getLogger(__name__)


class SqliteArrowTableLoader(TableLoader):
    """dlt's pyarrow table loader with SQLAlchemy's per-value conversion skipped on SQLite."""

    def _load_rows(self, query: Any, backend_kwargs: dict[str, Any]) -> Iterator[Any]:
        if self.backend != "pyarrow" or self.engine.dialect.name != "sqlite":
            yield from super()._load_rows(query, backend_kwargs)
            return
        tz = backend_kwargs.get("tz", "UTC")
        with self.engine.connect() as conn:
            # No yield_per: SQLite cursors stream by themselves, and the plain fetch strategy
            # leaves every row on the DB-API cursor (a buffered one would pre-read a row).
            result = conn.execute(query)
            try:
                names = list(result.keys())
                for name in names:
                    self.columns.setdefault(name, {"name": name})
                columns = {name: self.columns[name] for name in names}
                types = _arrow_types(columns, tz)
                while rows := result.cursor.fetchmany(self.chunk_size):
                    yield _to_arrow(rows, columns, types, tz, self.table.name)
            finally:
                result.close()


def _arrow_types(columns: dict[str, Any], tz: str) -> dict[str, pa.DataType | None]:
    caps = (
        Container().get(DestinationCapabilitiesContext)
        or DestinationCapabilitiesContext.generic_capabilities()
    )
    return {
        name: get_py_arrow_datatype(column, caps, tz) if column.get("data_type") else None
        for name, column in columns.items()
    }


def _stored_type(target: pa.DataType | None) -> pa.DataType | None:
    """How SQLite hands a value of the target type over: text for times, a float for money."""
    if target is None:
        return None
    if pa.types.is_timestamp(target) or pa.types.is_date(target):
        return pa.string()
    if pa.types.is_decimal(target):
        return pa.float64()
    return target


def _to_arrow(
    rows: list[tuple], columns: dict[str, Any], types: dict[str, Any], tz: str, table: str
) -> pa.Table:
    try:
        stored = [_stored_type(types[name]) for name in columns]
        if any(t is None for t in stored):
            raise pa.ArrowInvalid("a column has no declared type")
        # One C pass over the tuples, then a vectorised cast per column.
        struct = pa.struct([pa.field(name, t) for name, t in zip(columns, stored, strict=True)])
        arrays = pa.array(rows, type=struct).flatten()
        arrays = [
            a if a.type == types[name] else pc.cast(a, types[name])
            for name, a in zip(columns, arrays, strict=True)
        ]
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        # A value the vectorised path cannot take: let dlt convert this chunk value by value.
        log.info("%s: chunk converted row by row (%s)", table, exc)
        return row_tuples_to_arrow(rows, columns=columns, tz=tz)
    fields = [
        pa.field(name, a.type, nullable=column.get("nullable", True))
        for (name, column), a in zip(columns.items(), arrays, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
