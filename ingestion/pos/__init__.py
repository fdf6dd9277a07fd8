"""POS source: the store tills' SQL database through dlt's ``sql_database`` (Arrow backend).

Config: ``SOURCES__POS__CREDENTIALS`` (any SQLAlchemy URL, e.g.
``postgresql://user:pass@host/pos``); defaults to the sandbox's ``DIR/pos/pos.sqlite``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import dlt
import sqlalchemy as sa
from dlt.sources.sql_database import sql_database

from ingestion.pos.declared_keys import DeclaredKeys, declared_key_adapter
from ingestion.pos.lines_window import lines_of_tickets_in, lines_of_updated_tickets
from ingestion.pos.settings import (
    CONTRACTS,
    DEFAULT_LAG_DAYS,
    INCREMENTAL_CURSOR,
    RESOURCES,
    WINDOW_CURSOR,
    WINDOW_RESOURCES,
)
from ingestion.pos.sqlite_arrow import SqliteArrowTableLoader
from ingestion.pos.sqlite_timestamps import is_sqlite, sqlite_timestamps
from ingestion.privacy import anyone_erased
from ingestion.quarantine import GuardedIncremental, Known, current_load_id, with_validation
from ingestion.window import Window, local_bounds

__all__ = ["RESOURCES", "pos"]

CHUNK_SIZE = 50_000


@dlt.source(name="pos", max_table_nesting=0)
def pos(
    credentials: str = dlt.secrets.value,
    lag_days: float = DEFAULT_LAG_DAYS,
    window: Window | None = None,
    chunk_size: int = CHUNK_SIZE,
):
    """Stores, tickets, ticket lines, returns, pickups and daily inventory, merged on their
    keys; every table with ``updated_at`` is read incrementally with a lag window, and the
    ticket lines with their tickets' (``lines_window``).

    With a ``window``: the tickets (and their lines), returns and pickups of its business
    days, in dlt's backfill mode, which leaves the incremental state untouched.
    ``chunk_size`` (``SOURCES__POS__CHUNK_SIZE``) is the rows per extracted Arrow table.
    """
    credentials = database_url(credentials)
    names = WINDOW_RESOURCES if window else RESOURCES
    # Per table, whether the database keeps the contract's key unique (declared_keys.py).
    enforced: dict[str, bool] = {}
    tables = sql_database(
        credentials=credentials,
        table_names=list(names),
        backend="pyarrow",
        chunk_size=chunk_size,
        reflection_level="full",
        # Reflect at extract time, so the source builds before the database exists.
        defer_table_reflect=True,
        table_loader_class=SqliteArrowTableLoader,
        # SQLite compares timestamps as text: bounds must be written the way rows are.
        table_adapter_callback=declared_key_adapter(
            CONTRACTS, enforced, sqlite_timestamps if is_sqlite(credentials) else None
        ),
        # transaction_lines has no cursor of its own: it follows its tickets' updated_at.
        query_adapter_callback=(
            lines_of_tickets_in(window) if window else lines_of_updated_tickets(lag_days)
        ),
    )
    known = known_store_ids(credentials)
    parallel = not anyone_erased()
    resources = []
    for name in names:
        contract = CONTRACTS[name]
        # The guard protects the column dlt's incremental compares: a window run's business
        # timestamp (a till's text that is no timestamp reached dlt as bytes and failed the
        # run), else the updated_at cursor.
        cursor = (WINDOW_CURSOR if window else INCREMENTAL_CURSOR).get(name)
        # Tables read in dlt's thread pool: SQLite (ADBC, in C) fetches the next chunk while
        # this thread checks and writes the previous one. Not while someone is erased: the
        # suppression step needs each ticket extracted before its lines (privacy.py).
        table = tables.resources[name]
        if parallel:
            table = table.parallelize()
        resource = with_validation(
            table,
            contract,
            cursor_guard=cursor,
            known=known,
            upsert=True,
            dedup_sort=INCREMENTAL_CURSOR.get(name),
            seen=DeclaredKeys(contract, enforced),
        )
        resource.apply_hints(primary_key=list(contract.primary_key))
        incremental = _window_incremental(name, window) if window else _incremental(name, lag_days)
        if incremental:
            resource.apply_hints(incremental=incremental)
        resources.append(resource)
    return resources


def _incremental(name: str, lag_days: float) -> Any:
    cursor = INCREMENTAL_CURSOR.get(name)
    if cursor is None:
        return None
    return GuardedIncremental(cursor, lag=lag_days * 86_400, on_cursor_value_missing="include")


def _window_incremental(name: str, window: Window) -> Any:
    """dlt's backfill mode on the business timestamp: ``initial_value`` and ``end_value`` both
    set, so the SQL reads [start, end) and the incremental state is neither read nor written.
    """
    cursor = WINDOW_CURSOR.get(name)
    if cursor is None:
        return None
    start, end = local_bounds(window)
    return GuardedIncremental(
        cursor, initial_value=start, end_value=end, on_cursor_value_missing="exclude"
    )


def database_url(credentials: Any) -> Any:
    """A bare ``postgresql://`` URL means SQLAlchemy's default driver, which in SQLAlchemy 2.1
    is psycopg 3; the project ships psycopg2, so pick it unless psycopg 3 is installed."""
    if not isinstance(credentials, str):
        return credentials
    url = sa.engine.make_url(credentials)
    if url.drivername == "postgresql" and importlib.util.find_spec("psycopg") is None:
        return url.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    return credentials


def known_store_ids(credentials: Any) -> Known:
    """The ``stores`` reference set, read once per load from the same database.

    A ticket naming a store its own database does not have is corrupt (PostgreSQL would
    refuse it through the foreign key; SQLite does not check), so it is quarantined.
    """
    cache: dict[str, Any] = {}

    def known(reference: str) -> frozenset[str] | None:
        if reference != "stores":
            return None
        load_id = current_load_id()
        if cache.get("load_id") != load_id:
            url = credentials if isinstance(credentials, str) else credentials.to_url()
            engine = sa.create_engine(url)
            try:
                with engine.connect() as con:
                    ids = frozenset(
                        r[0] for r in con.execute(sa.text("SELECT store_id FROM stores"))
                    )
            finally:
                engine.dispose()
            cache.update(load_id=load_id, ids=ids)
        return cache["ids"]

    return known
