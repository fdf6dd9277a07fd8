"""Erasure requests (GDPR Art. 17) on the ingestion side: keep erased people erased.

``omni forget`` erases a person from the warehouse and appends to an erasure ledger kept
OUTSIDE the warehouse (``$OMNI_DATA_DIR/privacy/``), so a full refresh or a deleted
warehouse does not bring them back. The ledger holds only SHA-256 hashes: of the source
record keys erased (``system/entity/id``, the keys of ``customer_identities``) and of the
normalised identifiers only that person used (``email:…``, ``phone:…``,
``social_handle:…``). Every dlt source gets a step (``suppress_erased``) that drops a
record whose key, whose reference to an erased record (an order's customer, a ticket line's
ticket, a device's events), or whose normalised email/phone/handle is in the ledger, and
counts it as ``suppressed`` so that received = loaded + quarantined + suppressed.

Emails and phones are normalised exactly as the dbt staging models do (macros
``normalize_email`` and ``normalize_phone``): the same text must give the same hash here,
in ``omni forget`` and in the warehouse's ``customer_identifiers``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import dlt
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dlt.extract.items_transform import ItemTransform

from ingestion import paths
from ingestion.nested_arrow import DLT_ID, child_table_of, rows_of_parents
from ingestion.quarantine import _is_quarantine, current_load_id

log = logging.getLogger(__name__)

LEDGER_DIR = "privacy"
# One row per erasure request: when, whom (hashed) and how many rows went from each table.
REQUESTS_FILE = "erasures.parquet"
# One row per hash the ingestion pipelines suppress: ``kind`` is ``record`` or ``identifier``.
HASHES_FILE = "erased_hashes.parquet"

REQUESTS_SCHEMA = pa.schema(
    [
        ("erasure_id", pa.string()),
        ("requested_at", pa.timestamp("us", tz="UTC")),
        ("customer_hash", pa.string()),
        ("records_erased", pa.int64()),
        ("identifiers_erased", pa.int64()),
        ("rows_erased", pa.map_(pa.string(), pa.int64())),
    ]
)
HASHES_SCHEMA = pa.schema(
    [("erasure_id", pa.string()), ("kind", pa.string()), ("hash", pa.string())]
)

# Identifier types whose normalised value is hashed into the ledger. Ids a system gave the
# person (contact, shop customer, loyalty card, device) are record keys instead.
HASHED_IDENTIFIER_TYPES = ("email", "phone", "social_handle")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_PHONE_SHAPE = re.compile(r"(\+34|0034|34)?[6789]\d{8}")


def normalise_email(value: Any) -> str | None:
    """The warehouse's canonical email (macro ``normalize_email``): trimmed (spaces only, as
    DuckDB's ``trim``), lower case, ``+tag`` removed, and for Gmail dots removed and
    googlemail.com read as gmail.com; None when it is not shaped like an address."""
    return None if value is None else _email(str(value))


# The same people come back page after page and system after system: remember a bounded
# number of answers (phonenumbers parses in ~50 µs).
@functools.lru_cache(maxsize=1 << 16)
def _email(text: str) -> str | None:
    cleaned = text.strip(" ").lower()
    if not _EMAIL.fullmatch(cleaned):
        return None
    local, _, rest = cleaned.partition("@")
    domain = rest.split("@")[0]
    local = local.split("+")[0]
    if domain in ("gmail.com", "googlemail.com"):
        return local.replace(".", "") + "@gmail.com"
    return f"{local}@{domain}"


def normalise_phone(value: Any) -> str | None:
    """The warehouse's canonical phone (macro ``normalize_phone``): a Spanish number in E.164
    (``+34`` and nine digits starting 6, 7, 8 or 9), whatever way it was typed; None for
    anything else. Parsed with ``phonenumbers`` (default region ES) after the same shape
    check as the macro, so Python and SQL never disagree on what is a phone."""
    return None if value is None else _phone(str(value))


@functools.lru_cache(maxsize=1 << 16)
def _phone(text: str) -> str | None:
    compact = _PHONE_SEPARATORS.sub("", text.strip(" "))
    if not _PHONE_SHAPE.fullmatch(compact):
        return None
    try:
        number = phonenumbers.parse(compact, "ES")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 34:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_handle(value: Any) -> str | None:
    """A social handle as staging keeps it: trimmed, lower case, None when empty."""
    if value is None:
        return None
    handle = str(value).strip(" ").lower()
    return handle or None


NORMALISERS: dict[str, Callable[[Any], str | None]] = {
    "email": normalise_email,
    "phone": normalise_phone,
    "social_handle": normalise_handle,
}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def identifier_hash(identifier_type: str, normalised_value: str) -> str:
    """Hash of a normalised identifier, prefixed by its type (an email is never a phone)."""
    return _sha256(f"{identifier_type}:{normalised_value}")


def record_hash(system: str, entity: str, record_id: Any) -> str:
    """Hash of a source record key as ``customer_identities`` names it."""
    return _sha256(f"{system}/{entity}/{record_id}")


def customer_hash(customer_id: str) -> str:
    return _sha256(f"customer:{customer_id}")


@dataclass(frozen=True)
class Reference:
    """A field holding the key of another source record (``system``/``entity``)."""

    field: str
    system: str
    entity: str


@dataclass(frozen=True)
class PersonFields:
    """Where a resource's records carry personal data.

    ``entity`` / ``key``: the record's own key as ``customer_identities`` names it (None for
    records that are not identity records themselves, like ticket lines or click events).
    ``identifiers``: (identifier type, field); a ``contact_point`` field may hold an email or
    a phone, a ``*_list`` field several ``;``-separated emails.
    """

    key: str | None = None
    entity: str | None = None
    identifiers: tuple[tuple[str, str], ...] = ()
    references: tuple[Reference, ...] = ()


def _ref(field: str, system: str, entity: str) -> Reference:
    return Reference(field, system, entity)


PERSON_FIELDS: dict[str, dict[str, PersonFields]] = {
    "crm": {
        "contacts": PersonFields(
            key="id",
            entity="contacts",
            identifiers=(
                ("email", "email"),
                ("email_list", "additional_emails"),
                ("phone", "phone"),
                ("phone", "mobilephone"),
            ),
            references=(_ref("loyalty_id", "crm", "loyalty_accounts"),),
        ),
        "loyalty_accounts": PersonFields(
            key="id",
            entity="loyalty_accounts",
            references=(_ref("contact_id", "crm", "contacts"),),
        ),
    },
    "ecommerce": {
        "customers": PersonFields(
            key="id", entity="customers", identifiers=(("email", "email"), ("phone", "phone"))
        ),
        "orders": PersonFields(
            key="id",
            entity="orders",
            identifiers=(("email", "email"), ("phone", "phone")),
            references=(
                _ref("customer_id", "ecommerce", "customers"),
                _ref("landing_anonymous_id", "clickstream", "anonymous_ids"),
            ),
        ),
        "checkouts": PersonFields(
            key="id",
            entity="checkouts",
            identifiers=(("email", "email"), ("phone", "phone")),
            references=(
                _ref("customer_id", "ecommerce", "customers"),
                _ref("recovered_order_id", "ecommerce", "orders"),
            ),
        ),
    },
    "pos": {
        "transactions": PersonFields(
            key="transaction_id",
            entity="transactions",
            identifiers=(("email", "receipt_email"), ("phone", "phone_typed")),
            references=(_ref("loyalty_card", "crm", "loyalty_accounts"),),
        ),
        "transaction_lines": PersonFields(
            references=(_ref("transaction_id", "pos", "transactions"),)
        ),
        "returns": PersonFields(
            key="return_id",
            entity="returns",
            references=(
                _ref("original_transaction_id", "pos", "transactions"),
                _ref("original_order_id", "ecommerce", "orders"),
            ),
        ),
        "pickups": PersonFields(
            key="pickup_id",
            entity="pickups",
            references=(_ref("order_id", "ecommerce", "orders"),),
        ),
    },
    "clickstream": {
        "events": PersonFields(
            references=(
                _ref("anonymous_id", "clickstream", "anonymous_ids"),
                _ref("user_id", "ecommerce", "customers"),
                _ref("order_id", "ecommerce", "orders"),
            )
        ),
    },
    "messaging": {
        "conversations": PersonFields(
            key="conversation_id",
            entity="conversations",
            identifiers=(
                ("email", "customer_email"),
                ("phone", "customer_phone"),
                ("social_handle", "customer_handle"),
            ),
        ),
        "deliveries": PersonFields(
            key="event_id",
            entity="deliveries",
            identifiers=(("contact_point", "recipient"),),
            references=(_ref("contact_id", "crm", "contacts"),),
        ),
    },
}


def identifier_hashes(kind: str, value: Any) -> list[str]:
    """Hashes of what one raw field value identifies (none when it normalises to nothing)."""
    if value is None:
        return []
    if kind == "email_list":
        values = [("email", normalise_email(v)) for v in str(value).split(";")]
    elif kind == "contact_point":
        values = [("email", normalise_email(value)), ("phone", normalise_phone(value))]
    else:
        values = [(kind, NORMALISERS[kind](value))]
    return [identifier_hash(t, v) for t, v in values if v is not None]


def _key_text(value: Any) -> str | None:
    # Staging casts ids to text and trims card numbers; an empty id references nothing.
    if value is None:
        return None
    text = str(value).strip(" ")
    return text or None


@dataclass
class Blocklist:
    """The hashes a pipeline suppresses: erased record keys and erased identifiers.

    One object is shared by every step of a source, and ``records`` grows while it runs: a
    new ticket suppressed for an erased email takes its lines along (``transaction_lines``
    is a table of its own in the POS) when they come after it.
    """

    records: set[str]
    identifiers: set[str]
    # Hashes already computed, per (field, value): only for a caller that tests the same
    # values several times (``omni forget`` until its record set is stable); a pipeline
    # sees each value once and would only grow it.
    memo: dict[tuple, tuple[tuple[str, ...], tuple[str, ...]]] | None = None

    def __bool__(self) -> bool:
        return bool(self.records or self.identifiers)

    def value_matches(self, system: str, fields: PersonFields, field: str) -> Callable:
        """A test ``value -> bool`` for one field of a resource of ``system``."""
        keyed = [(system, fields.entity)] if fields.key == field and fields.entity else []
        keyed += [(r.system, r.entity) for r in fields.references if r.field == field]
        kinds = [kind for kind, f in fields.identifiers if f == field]
        scope = (system, id(fields), field)  # the same field name means other keys elsewhere

        def hashes(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
            text = _key_text(value)
            keys = () if text is None else tuple(record_hash(s, e, text) for s, e in keyed)
            return keys, tuple(h for kind in kinds for h in identifier_hashes(kind, value))

        def matches(value: Any) -> bool:
            if self.memo is None:
                keys, identifiers = hashes(value)
            else:
                memo_key = (*scope, value)
                if memo_key not in self.memo:
                    self.memo[memo_key] = hashes(value)
                keys, identifiers = self.memo[memo_key]
            return any(h in self.records for h in keys) or any(
                h in self.identifiers for h in identifiers
            )

        return matches

    def record_matcher(self, system: str, resource: str) -> Callable[[dict], bool] | None:
        """A test ``record -> bool`` for the records of one resource (None: no personal
        data in it)."""
        fields = PERSON_FIELDS.get(system, {}).get(resource)
        if fields is None:
            return None
        tests = [(n, self.value_matches(system, fields, n)) for n in person_field_names(fields)]

        def erased(record: dict) -> bool:
            return any(
                (value := record.get(name)) is not None and matches(value)
                for name, matches in tests
            )

        return erased


def person_field_names(fields: PersonFields) -> list[str]:
    names = [fields.key] if fields.key else []
    names += [f for _, f in fields.identifiers] + [r.field for r in fields.references]
    return list(dict.fromkeys(names))


def erased_mask(system: str, resource: str, table: pa.Table, blocklist: Blocklist) -> pa.Array:
    """Boolean mask of the rows of ``table`` (a page or a raw table) that are erased.

    Each field's distinct values are tested once: a page repeats the same recipient or
    device many times, and hashing is the cost here.
    """
    mask = pa.array([False] * table.num_rows, type=pa.bool_())
    fields = PERSON_FIELDS.get(system, {}).get(resource)
    if fields is None or not table.num_rows:
        return mask
    for name in person_field_names(fields):
        if name not in table.column_names:
            continue
        column = table[name]
        matches = blocklist.value_matches(system, fields, name)
        hits = [v for v in pc.unique(column).to_pylist() if v is not None and matches(v)]
        if hits:
            found = pc.is_in(column, value_set=pa.array(hits, type=column.type))
            mask = pc.or_(mask, pc.fill_null(found, False))
    return mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask


def ledger_dir(data_dir: Path | None = None) -> Path:
    return Path(data_dir or paths.data_dir()) / LEDGER_DIR


def anyone_erased(data_dir: Path | None = None) -> bool:
    """Whether ``omni forget`` ever erased someone (a ledger exists)."""
    return (ledger_dir(data_dir) / HASHES_FILE).exists()


def load_blocklist(data_dir: Path | None = None) -> Blocklist:
    """Every hash of the ledger (empty when no one was ever erased)."""
    path = ledger_dir(data_dir) / HASHES_FILE
    if not path.exists():
        return Blocklist(set(), set())
    table = pq.read_table(path, columns=["kind", "hash"])
    kinds = table["kind"].to_pylist()
    hashes = table["hash"].to_pylist()
    return Blocklist(
        {h for k, h in zip(kinds, hashes, strict=True) if k == "record"},
        {h for k, h in zip(kinds, hashes, strict=True) if k == "identifier"},
    )


def _replace_parquet(path: Path, rows: pa.Table) -> None:
    """Append ``rows`` to the Parquet file at ``path``: written beside it, then renamed, so a
    pipeline reading the ledger never sees half a file."""
    if path.exists():
        rows = pa.concat_tables([pq.read_table(path).cast(rows.schema), rows])
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(rows, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Erasure:
    """One erasure request as the ledger keeps it: hashes and counts, never plain values."""

    erasure_id: str
    customer_id: str
    record_hashes: frozenset[str]
    identifier_hashes: frozenset[str]
    requested_at: datetime


def new_erasure(customer_id: str, blocklist: Blocklist) -> Erasure:
    return Erasure(
        uuid.uuid4().hex,
        customer_id,
        frozenset(blocklist.records),
        frozenset(blocklist.identifiers),
        datetime.now(UTC),
    )


def append_hashes(erasure: Erasure, data_dir: Path | None = None) -> Path:
    """Add the request's hashes to what every pipeline suppresses. Written BEFORE anything is
    deleted: a request that dies half-way must never let the person come back."""
    folder = ledger_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    hashes = [("record", h) for h in sorted(erasure.record_hashes)]
    hashes += [("identifier", h) for h in sorted(erasure.identifier_hashes)]
    path = folder / HASHES_FILE
    _replace_parquet(
        path,
        pa.table(
            {
                "erasure_id": [erasure.erasure_id] * len(hashes),
                "kind": [k for k, _ in hashes],
                "hash": [h for _, h in hashes],
            },
            schema=HASHES_SCHEMA,
        ),
    )
    return path


def append_request(
    erasure: Erasure, rows_erased: dict[str, int], data_dir: Path | None = None
) -> Path:
    """Log the finished request: when, whom (hashed), how many rows left which table."""
    path = ledger_dir(data_dir) / REQUESTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace_parquet(
        path,
        pa.table(
            {
                "erasure_id": [erasure.erasure_id],
                "requested_at": [erasure.requested_at.astimezone(UTC)],
                "customer_hash": [customer_hash(erasure.customer_id)],
                "records_erased": [len(erasure.record_hashes)],
                "identifiers_erased": [len(erasure.identifier_hashes)],
                "rows_erased": [sorted(rows_erased.items())],
            },
            schema=REQUESTS_SCHEMA,
        ),
    )
    return path


class SuppressStep(ItemTransform[Any, dict[str, Any]]):
    """Pipe step that drops the records of erased people and counts them as ``suppressed``.

    It sits after validation (1.05) so that a suppressed record is first counted as
    received, and before ``add_limit`` (1.1). Nested children (order lines, refunds,
    conversation messages) leave with their parent record, also when they travel as tables
    of their own after it (``nested_arrow``).
    """

    placement_affinity: ClassVar[float] = 1.07

    def __init__(self, system: str, resource: str, blocklist: Blocklist) -> None:
        super().__init__(lambda item: item)
        self.system = system
        self.resource = resource
        self.blocklist = blocklist
        self._record_erased = blocklist.record_matcher(system, resource)
        fields = PERSON_FIELDS[system][resource]
        self._own_key = (fields.key, fields.entity) if fields.key and fields.entity else None
        self._load_id: str | None = None
        # Row ids of the suppressed records, whose list tables' rows go too (nested_arrow).
        self._erased_parents: set[str] = set()

    def _count(self, suppressed: int) -> None:
        # Per load, like the validation counters: a source extracted twice starts again.
        load_id = current_load_id()
        if load_id != self._load_id:
            self._load_id = load_id
            self._custom_metrics["suppressed"] = 0
        self._custom_metrics["suppressed"] += suppressed

    def _remember(self, keys: list[Any]) -> None:
        # Records that reference these (ticket lines, pickups) leave with them.
        entity = self._own_key[1]
        self.blocklist.records.update(
            record_hash(self.system, entity, k) for k in map(_key_text, keys) if k is not None
        )

    def __call__(self, item: Any, meta: Any = None) -> Any:
        if _is_quarantine(meta):
            return item
        if isinstance(item, pa.RecordBatch):
            item = pa.Table.from_batches([item])
        if isinstance(item, pa.Table) and child_table_of(meta, self.resource):
            # An order's lines and refunds (their own tables) leave with the order.
            mask = rows_of_parents(item, self._erased_parents)
            rows = item.filter(pc.invert(mask)) if pc.any(mask).as_py() else item
            return rows if rows.num_rows else None
        if isinstance(item, pa.Table):
            mask = erased_mask(self.system, self.resource, item, self.blocklist)
            erased = pc.sum(mask).as_py() or 0
            kept: Any = item.filter(pc.invert(mask)) if erased else item
            remaining = kept.num_rows
            if erased and self._own_key:
                self._remember(item.filter(mask)[self._own_key[0]].to_pylist())
            if erased and DLT_ID in item.column_names:
                self._erased_parents.update(item.filter(mask)[DLT_ID].to_pylist())
        else:
            records = item if isinstance(item, list) else [item]
            kept, gone = [], []
            for r in records:
                (gone if isinstance(r, dict) and self._record_erased(r) else kept).append(r)
            erased = len(gone)
            remaining = len(kept)
            if gone and self._own_key:
                self._remember([r.get(self._own_key[0]) for r in gone])
            if not isinstance(item, list) and kept:
                kept = kept[0]
        self._count(erased)
        return kept if remaining else None


def _references_siblings(system: str) -> bool:
    entities = {f.entity for f in PERSON_FIELDS.get(system, {}).values() if f.entity}
    return any(
        r.system == system and r.entity in entities
        for f in PERSON_FIELDS.get(system, {}).values()
        for r in f.references
    )


def suppress_erased(system: str, source: Any, data_dir: Path | None = None) -> Any:
    """Attach ``SuppressStep`` to every resource of ``source`` that carries personal data,
    when the ledger holds anything; a warehouse nobody was erased from runs unchanged."""
    blocklist = load_blocklist(data_dir)
    if not blocklist:
        return source
    for name, resource in source.resources.items():
        if name in PERSON_FIELDS.get(system, {}):
            resource.add_step(SuppressStep(system, name, blocklist))
    if _references_siblings(system):
        # Ticket lines follow their ticket only if the ticket was extracted first: read the
        # resources one after another, in declaration order (tickets before their lines),
        # instead of dlt's round robin. Scoped to this system's pipeline (make_pipeline
        # names it omni_<system>) and only while someone is erased.
        dlt.config[f"omni_{system}.extract.next_item_mode"] = "fifo"
    log.info(
        "%s: suppressing records of erased people (%d record keys, %d identifiers in %s)",
        system,
        len(blocklist.records),
        len(blocklist.identifiers),
        ledger_dir(data_dir),
    )
    return source
