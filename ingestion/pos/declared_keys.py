"""The key guard, skipped for POS tables whose database already keeps the contract's key unique.

``upsert`` needs every key of a load staged once, so each POS chunk passes a key guard
(``load_keys.SeenKeys``) that remembers the load's keys and quarantines a repeated one. A
table whose database declares the contract's key as its primary key cannot repeat a key in
one query: the database refuses the second row (a ``SELECT`` reads one snapshot, on SQLite
as on PostgreSQL). There the guard hashes, sorts and searches 1.4M keys per first load for
nothing (~0.3-0.5 CPU s of the ~3.5 s a 100k-customer POS load takes, on the thread that
writes the extract). The guard stays for a table without that primary key (the case it
exists for: a key can then come twice, within a chunk or across chunks).

The primary key is read from the table dlt reflects at extract time (``sql_database``'s
``table_adapter_callback``, which runs before the table's first row is read), so the answer
is the database's as it is now, not as it was when the source was built.

One case the trust does not cover: SQLite keeps a key stored as bytes (``x'4131'``) apart
from the same key as text (``'A1'``), and the SQLite reader reads both as the text ``A1``.
Flagging such keys in the query (``typeof(key) = 'blob'`` per row) cost the SQLite read
about as much CPU as skipping the guard saved, so it is not done: a till writing one key
both ways would load it twice (the guard would have quarantined the second one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pyarrow as pa
import sqlalchemy as sa

from ingestion.contracts import Contract
from ingestion.load_keys import SeenKeys

log = logging.getLogger(__name__)

TableAdapter = Callable[[sa.Table], sa.Table]


class DeclaredKeys(SeenKeys):
    """``SeenKeys`` that lets a chunk through unchecked when its table's primary key, as the
    database declares it, is the contract's key (``declared_key_adapter`` records that)."""

    def __init__(self, contract: Contract, enforced: dict[str, bool]) -> None:
        super().__init__(contract, last_in_batch=True)
        self._enforced = enforced

    def split(self, table: pa.Table) -> tuple[pa.Table, list[tuple[str, dict]]]:
        if self._enforced.get(self.contract.resource, False):
            return table, []
        return super().split(table)


def declared_key_adapter(
    contracts: dict[str, Contract], enforced: dict[str, bool], then: TableAdapter | None = None
) -> TableAdapter:
    """A ``table_adapter_callback`` recording, per table, whether the database's primary key
    is the contract's key (into ``enforced``), then applying ``then``."""

    def adapt(table: sa.Table) -> sa.Table:
        contract = contracts.get(table.name)
        if contract is not None:
            declared = set(table.primary_key.columns.keys())
            enforced[table.name] = declared == set(contract.primary_key)
            if not enforced[table.name]:
                log.info(
                    "%s: the database declares no primary key (%s): every key is checked "
                    "for repeats within this load",
                    table.name,
                    ", ".join(contract.primary_key),
                )
        return then(table) if then else table

    return adapt
