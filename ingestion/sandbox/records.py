"""Record versions produced by a simulation window, before they are written anywhere.

Every mutable record is emitted as a sequence of full versions, each with the moment it
becomes visible in its source system. Writing the world "as of" its end date means taking,
per record, the latest version visible before that moment; later versions wait in the
pending queue for the next ``advance``. File records carry their arrival partition instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import pyarrow as pa

# Where each entity lives: a REST doc store, the POS database or a file partition.
REST_ENTITIES = {
    "crm": ("contacts", "loyalty_accounts", "campaigns"),
    "ecommerce": ("customers", "orders", "checkouts", "products", "inventory_levels"),
}
POS_TABLES = (
    "stores",
    "transactions",
    "transaction_lines",
    "returns",
    "pickups",
    "inventory_daily",
)
FILE_ENTITIES = {
    "clickstream": ("events",),
    "messaging": ("conversations", "deliveries"),
    "marketing": ("spend",),
}
# File entities with millions of immutable rows: built as Arrow columns, never as dicts.
# Their tables carry ``_dt`` (arrival partition), ``_key`` (primary key) and ``_person``
# (person id or null) besides the record's own fields, in output order.
TABLE_ENTITIES = (
    ("clickstream", "events"),
    ("messaging", "conversations"),
    ("messaging", "deliveries"),
)
# REST entities built the same way, as tables of full record versions: ``_dt`` holds the
# version's visible instant (UTC ISO) and the latest visible version per ``_key`` is stored.
DOC_TABLE_ENTITIES = (
    ("crm", "contacts"),
    ("crm", "loyalty_accounts"),
    ("ecommerce", "customers"),
    ("ecommerce", "checkouts"),
    ("ecommerce", "orders"),
    ("ecommerce", "inventory_levels"),
)
META_COLUMNS = ("_dt", "_key", "_person")
# A file entity's rows are handed to ``Batch.spill`` once this many wait: a campaign day at a
# million customers sends ~10M delivery events, which would otherwise sit in memory at once.
SPILL_ROWS = 250_000


class Version(NamedTuple):
    visible_at: str  # UTC ISO 'YYYY-MM-DDTHH:MM:SSZ' (REST, POS) or 'YYYY-MM-DD' partition
    key: str  # primary key, composite keys joined with '|'
    doc: dict
    person_id: str | None = None


@dataclass
class Batch:
    versions: dict[tuple[str, str], list[Version]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # Append-only POS rows visible within their own window (daily snapshots): table ->
    # (columns, rows). They skip the versioning machinery because there are millions.
    # Column tuples rather than row tuples: the writer zips them inside one transaction.
    pos_rows: dict[str, list[tuple[tuple[str, ...], list[list] | pa.Table]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # Arrow tables of the TABLE_ENTITIES (see there for their columns).
    tables: dict[tuple[str, str], list[pa.Table]] = field(default_factory=lambda: defaultdict(list))
    # Ground-truth rows of records written through ``pos_rows``: (system, entity, ids, persons).
    truth: list[tuple[str, str, list, list]] = field(default_factory=list)
    # Called with (system, entity, tables) when a file entity holds ``SPILL_ROWS`` rows, to
    # write them before the window ends; without it every row waits for ``materialize``.
    spill: Callable[[str, str, list[pa.Table]], None] | None = None

    def add(self, system: str, entity: str, visible_at: str, key: str, doc: dict, person=None):
        self.versions[(system, entity)].append(Version(visible_at, key, doc, person))

    def add_pos_columns(
        self, table: str, columns: tuple[str, ...], values: list[list] | pa.Table
    ) -> None:
        """Append-only POS rows, visible within their own window, given column by column
        (lists of Python values) or as one Arrow table with ``columns``."""
        self.pos_rows[table].append((columns, values))

    def add_table(self, system: str, entity: str, table: pa.Table) -> None:
        if not table.num_rows:
            return
        tables = self.tables[(system, entity)]
        tables.append(table)
        if (
            self.spill is not None
            and (system, entity) in TABLE_ENTITIES
            and sum(t.num_rows for t in tables) >= SPILL_ROWS
        ):
            self.spill(system, entity, self.tables.pop((system, entity)))
