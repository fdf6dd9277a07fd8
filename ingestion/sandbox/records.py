"""Record versions produced by a simulation window, before they are written anywhere.

Every mutable record is emitted as a sequence of full versions, each with the moment it
becomes visible in its source system. Writing the world "as of" its end date means taking,
per record, the latest version visible before that moment; later versions wait in the
pending queue for the next ``advance``. File records carry their arrival partition instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

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
    pos_rows: dict[str, tuple[tuple[str, ...], list[tuple]]] = field(default_factory=dict)

    def add(self, system: str, entity: str, visible_at: str, key: str, doc: dict, person=None):
        self.versions[(system, entity)].append(Version(visible_at, key, doc, person))
