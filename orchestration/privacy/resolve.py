"""Who is the person behind an erasure request: their customer id, records and identifiers.

Everything is looked up in the working warehouse's marts (CONTRACT §4): the identifier in
``customer_identifiers`` (normalised the way the dbt staging models normalise it), a
customer id in ``customer_identities`` or, if it was merged away, in
``customer_id_history``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ingestion.privacy import HASHED_IDENTIFIER_TYPES, normalise_email, normalise_phone

EXIT_INVALID = 2
EXIT_UNKNOWN = 3
EXIT_REFUSED = 4

# A chain of merges longer than this is a cycle in a broken history, not a real one.
_MAX_MERGE_HOPS = 20


class ForgetError(Exception):
    """A request that cannot be carried out; nothing was changed."""

    exit_code = EXIT_INVALID


class UnknownPerson(ForgetError):
    exit_code = EXIT_UNKNOWN


class AmbiguousRequest(ForgetError):
    exit_code = EXIT_REFUSED


@dataclass(frozen=True)
class Identifier:
    identifier_type: str
    value: str
    # Used for matching and carried by no other customer: safe to block for good.
    is_exclusive: bool


@dataclass(frozen=True)
class Person:
    customer_id: str
    # Ids the person's records held before (merged away); never a live id of someone else.
    previous_customer_ids: tuple[str, ...]
    # (source_system, source_entity, source_record_id) as customer_identities names them.
    records: tuple[tuple[str, str, str], ...]
    # The identity models' record keys of those records (``01|crm|contacts|1000266``).
    record_keys: tuple[str, ...]
    identifiers: tuple[Identifier, ...]

    @property
    def systems(self) -> list[str]:
        return sorted({system for system, _, _ in self.records})

    def exclusive(self, types: tuple[str, ...] = HASHED_IDENTIFIER_TYPES) -> list[Identifier]:
        return [i for i in self.identifiers if i.is_exclusive and i.identifier_type in types]

    def shared(self) -> list[Identifier]:
        return [
            i
            for i in self.identifiers
            if not i.is_exclusive and i.identifier_type in HASHED_IDENTIFIER_TYPES
        ]


def normalised_request(email: str | None, phone: str | None) -> tuple[str, str] | None:
    """(identifier type, normalised value) of the request, or None for a customer id only."""
    if email is not None:
        value = normalise_email(email.strip())
        if value is None:
            raise ForgetError(f"{email!r} is not an email address the warehouse would store")
        return "email", value
    if phone is not None:
        value = normalise_phone(phone.strip())
        if value is None:
            raise ForgetError(
                f"{phone!r} is not a phone number the warehouse would store (a Spanish "
                "number, any spelling: 612 345 678, +34 612-345-678, 0034612345678)"
            )
        return "phone", value
    return None


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def _customers_carrying(con: duckdb.DuckDBPyConnection, kind: str, value: str) -> list[str]:
    rows = con.execute(
        "select distinct customer_id from marts.customer_identifiers "
        "where identifier_type = ? and identifier_value = ? order by 1",
        [kind, value],
    ).fetchall()
    return [r[0] for r in rows]


def _is_live(con: duckdb.DuckDBPyConnection, customer_id: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from marts.customer_identities where customer_id = ?", [customer_id]
        ).fetchone()[0]
    )


def current_customer_id(con: duckdb.DuckDBPyConnection, customer_id: str) -> str | None:
    """The live id of ``customer_id``: itself, or where its merges led (None: unknown)."""
    seen = customer_id
    for _ in range(_MAX_MERGE_HOPS):
        if _is_live(con, seen):
            return seen
        if not _has_table(con, "marts", "customer_id_history"):
            return None
        row = con.execute(
            "select customer_id from marts.customer_id_history "
            "where previous_customer_id = ? and change_type = 'merged' "
            "order by records_moved desc, customer_id limit 1",
            [seen],
        ).fetchone()
        if row is None:
            return None
        seen = row[0]
    return None


def _previous_ids(con, customer_id: str, record_keys: list[str]) -> list[str]:
    ids: set[str] = set()
    if _has_table(con, "marts", "customer_id_history"):
        ids |= {
            r[0]
            for r in con.execute(
                "select previous_customer_id from marts.customer_id_history "
                "where customer_id = ? and change_type = 'merged'",
                [customer_id],
            ).fetchall()
        }
    if record_keys and _has_table(con, "intermediate", "int_identity_customer_assignments"):
        ids |= {
            r[0]
            for r in con.execute(
                "select distinct customer_id from intermediate.int_identity_customer_assignments "
                "where list_contains(?, record_key)",
                [record_keys],
            ).fetchall()
        }
    ids.discard(customer_id)
    # An id another live customer holds now (a split) is theirs, not the person's.
    return sorted(i for i in ids if not _is_live(con, i))


def _record_keys(con, customer_id: str) -> list[str]:
    if not _has_table(con, "intermediate", "int_identity_records_resolved"):
        return []
    rows = con.execute(
        "select record_key from intermediate.int_identity_records_resolved "
        "where customer_id = ? order by 1",
        [customer_id],
    ).fetchall()
    return [r[0] for r in rows]


def load_person(con: duckdb.DuckDBPyConnection, customer_id: str) -> Person:
    records = con.execute(
        "select source_system, source_entity, source_record_id from marts.customer_identities "
        "where customer_id = ? order by 1, 2, 3",
        [customer_id],
    ).fetchall()
    identifiers = con.execute(
        """
        select
            mine.identifier_type,
            mine.identifier_value,
            bool_and(mine.is_used_for_matching)
                and not exists (
                    select 1 from marts.customer_identifiers as other
                    where other.identifier_type = mine.identifier_type
                      and other.identifier_value = mine.identifier_value
                      and other.customer_id <> mine.customer_id
                ) as is_exclusive
        from marts.customer_identifiers as mine
        where mine.customer_id = ?
        group by mine.customer_id, mine.identifier_type, mine.identifier_value
        order by 1, 2
        """,
        [customer_id],
    ).fetchall()
    keys = _record_keys(con, customer_id)
    return Person(
        customer_id=customer_id,
        previous_customer_ids=tuple(_previous_ids(con, customer_id, keys)),
        records=tuple(tuple(r) for r in records),
        record_keys=tuple(keys),
        identifiers=tuple(Identifier(t, v, bool(x)) for t, v, x in identifiers),
    )


def resolve(
    con: duckdb.DuckDBPyConnection,
    email: str | None = None,
    phone: str | None = None,
    customer_id: str | None = None,
) -> Person:
    """The one person a request names, or ``ForgetError`` saying why not."""
    request = normalised_request(email, phone)
    if request is None and not customer_id:
        raise ForgetError("name the person: --email, --phone or --customer-id")
    if not _has_table(con, "marts", "customer_identifiers"):
        raise ForgetError("the warehouse has no marts.customer_identifiers yet: run `omni run`")
    wanted = None
    if customer_id:
        wanted = current_customer_id(con, customer_id)
        if wanted is None:
            raise UnknownPerson(f"no customer {customer_id!r} in the warehouse (nor merged away)")
    if request is None:
        return load_person(con, wanted)
    typed = email if email is not None else phone
    carriers = _customers_carrying(con, *request)
    if not carriers:
        raise UnknownPerson(f"no customer has the {request[0]} {typed!r}")
    if wanted is not None:
        if wanted not in carriers:
            raise AmbiguousRequest(
                f"customer {customer_id!r} does not carry the {request[0]} {typed!r} "
                f"({len(carriers)} other customer(s) do); nothing erased"
            )
        return load_person(con, wanted)
    if len(carriers) > 1:
        raise AmbiguousRequest(
            f"the {request[0]} {typed!r} is shared by {len(carriers)} customers (a household "
            f"or a shared inbox/phone): {', '.join(carriers)}. Refusing to erase more than "
            "one person: repeat with --customer-id to name the one who asked"
        )
    return load_person(con, carriers[0])
