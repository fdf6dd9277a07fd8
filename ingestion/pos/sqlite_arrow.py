"""A ``sql_database`` table loader that reads SQLite through ADBC and types the text in Arrow.

SQLite stores timestamps and dates as text and money as floats, and any column may hold a
value of another type (a till that wrote ``'abc'`` into ``quantity``). Through SQLAlchemy
and the ``sqlite3`` module every value became a Python object first, which was most of the
POS extract time. This loader lets SQLAlchemy build the query as dlt does (incremental
filter and query adapters included), compiles it with its bounds written in (dlt's
``compile_query``; ``sqlite_timestamps`` binds them as the tills write them), and runs it
through ``adbc_driver_sqlite``, which returns Arrow record batches from C.

Every column is selected as text. ADBC's SQLite driver infers a column's type from the
first rows of the result and fails the whole query on a later value of another type; text
(with a first row of text in every column) never does, and Arrow's casts then type each
column in one vectorised pass. A value that does not cast exactly (not a number, not a
timestamp, three decimals in an amount, bytes that are not UTF-8) does not fail the load:
its row goes on as a record (``dict``), every value that casts typed and every value that
does not kept as the bytes SQLite stored, which no contract type accepts, so the contract
check quarantines the row with its reason (``quarantine.ValidateStep``) and counts it. Such
a row never reaches dlt's normaliser as a dict (which would add a ``_dlt_id`` column).
Other databases (PostgreSQL: typed by its C driver) and SQLite URLs that are not a file keep
dlt's own loader.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.configuration.container import Container
from dlt.common.destination.capabilities import DestinationCapabilitiesContext
from dlt.common.libs.pyarrow import get_py_arrow_datatype
from dlt.sources.sql_database.helpers import TableLoader

log = logging.getLogger(__name__)

_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


class SqliteArrowTableLoader(TableLoader):
    """dlt's pyarrow table loader, reading SQLite files through ADBC as Arrow."""

    def _load_rows(self, query: Any, backend_kwargs: dict[str, Any]) -> Iterator[Any]:
        path = self._database_file()
        if self.backend != "pyarrow" or path is None:
            yield from super()._load_rows(query, backend_kwargs)
            return
        # The driver manager's low-level API: its DB-API module imports pandas (0.3 s a run).
        import adbc_driver_manager as adbc
        import adbc_driver_sqlite

        names = list(query.selected_columns.keys())
        for name in names:
            self.columns.setdefault(name, {"name": name})
        columns = {name: self.columns[name] for name in names}
        types = _arrow_types(columns, backend_kwargs.get("tz", "UTC"))
        if any(t is None for t in types.values()):
            # A column without a declared type (none in the POS contract): dlt infers it.
            yield from super()._load_rows(query, backend_kwargs)
            return
        quote = self.engine.dialect.identifier_preparer.quote
        as_text = ", ".join(f"CAST({quote(n)} AS TEXT) AS {quote(n)}" for n in names)
        # ADBC types each result column by its first rows: a column NULL there (a ticket
        # never picked up) would become an integer and fail on its first text. A first row of
        # empty texts makes every column text; it is dropped below.
        typing_row = ", ".join(f"'' AS {quote(n)}" for n in names)
        sql = f"SELECT {typing_row} UNION ALL SELECT {as_text} FROM ({self.compile_query(query)})"
        schema = pa.schema(
            pa.field(n, types[n], nullable=c.get("nullable", True)) for n, c in columns.items()
        )
        with (
            adbc_driver_sqlite.connect(f"{Path(path).resolve().as_uri()}?mode=ro") as database,
            adbc.AdbcConnection(database) as conn,
            adbc.AdbcStatement(conn) as statement,
        ):
            # One record batch per dlt chunk (the driver's default is 1,024 rows).
            statement.set_options(**{"adbc.sqlite.query.batch_rows": str(self.chunk_size)})
            statement.set_sql_query(sql)
            stream, _ = statement.execute_query()
            for i, batch in enumerate(pa.RecordBatchReader.from_stream(stream)):
                if i == 0:
                    batch = _without_typing_row(batch, self.table.name)
                table, rejected = typed_batch(batch, schema)
                if rejected:
                    log.info(
                        "%s: %d row(s) with values that are not of their column's type",
                        self.table.name,
                        len(rejected),
                    )
                    # Before the chunk's table: on a first load dlt's lagged incremental fails
                    # on a list without cursor values (the cursor guard's quarantine rows)
                    # once an Arrow item has moved the cursor (ingestion/README.md).
                    yield rejected
                if table.num_rows:
                    yield table

    def _database_file(self) -> str | None:
        """The SQLite file this loader reads, or None (another database, in-memory)."""
        url = self.engine.url
        if self.engine.dialect.name != "sqlite" or not url.database or url.database == ":memory:":
            return None
        if url.database.startswith("file:") or url.query:
            return None  # a URI or driver options: left to SQLAlchemy's own connection
        return url.database


def _arrow_types(columns: dict[str, Any], tz: str) -> dict[str, pa.DataType | None]:
    caps = (
        Container().get(DestinationCapabilitiesContext)
        or DestinationCapabilitiesContext.generic_capabilities()
    )
    return {
        name: get_py_arrow_datatype(column, caps, tz) if column.get("data_type") else None
        for name, column in columns.items()
    }


def _without_typing_row(batch: pa.RecordBatch, table: str) -> pa.RecordBatch:
    """The first batch without the row of empty texts put first to type every column as text.

    SQLite returns UNION ALL arms in order; checked rather than assumed, since dropping any
    other row would lose a record silently.
    """
    first = batch.slice(0, 1).to_pylist()
    if not first or any(value != "" for value in first[0].values()):
        raise RuntimeError(f"{table}: the ADBC result did not start with its typing row")
    return batch.slice(1)


def typed_batch(
    batch: pa.RecordBatch | pa.Table, schema: pa.Schema
) -> tuple[pa.Table, list[dict[str, Any]]]:
    """The text ``batch`` cast to ``schema``, and the rows with a value that does not cast,
    as records for the contract to reject (``_records``)."""
    arrays: list[pa.Array] = []
    bad: np.ndarray | None = None
    for field, array in zip(schema, batch.columns, strict=True):
        try:
            # ADBC does not check that SQLite's text is UTF-8; Arrow's string type must be.
            array.validate(full=True)
            arrays.append(array if array.type == field.type else pc.cast(array, field.type))
        except _ARROW_ERRORS:
            fails = np.array([_convert(v, field.type) is _FAILED for v in _raw(array)])
            bad = fails if bad is None else bad | fails
    if bad is None:
        return pa.Table.from_arrays(arrays, schema=schema), []
    good, _ = typed_batch(batch.filter(pa.array(~bad)), schema)
    return good, _records(batch.filter(pa.array(bad)), schema)


_FAILED = object()


def _raw(array: pa.Array | pa.ChunkedArray) -> list[bytes | None]:
    # Text to binary is a view of the same buffers: no UTF-8 check, nothing copied.
    return array.cast(pa.binary()).to_pylist()


def _convert(raw: bytes | None, target: pa.DataType) -> Any:
    """``raw`` as a Python value of ``target``, or ``_FAILED``."""
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _FAILED
    try:
        return pc.cast(pa.array([text], type=pa.string()), target)[0].as_py()
    except _ARROW_ERRORS:
        return _FAILED


def _records(rows: pa.RecordBatch | pa.Table, schema: pa.Schema) -> list[dict[str, Any]]:
    """Rows as records for the contract check: typed values where they cast, the stored
    bytes where they do not."""
    columns = {}
    for field in schema:
        raws = _raw(rows.column(field.name))
        values = [_convert(raw, field.type) for raw in raws]
        columns[field.name] = [
            raw if value is _FAILED else value for raw, value in zip(raws, values, strict=True)
        ]
    rows_values = zip(*columns.values(), strict=True)
    return [dict(zip(columns, values, strict=True)) for values in rows_values]
