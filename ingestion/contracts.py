"""Record contracts: what a loadable record of each resource looks like (SOURCES.md).

A contract drives two things so they cannot drift apart: the per-record validation that
routes bad records to quarantine, and the dlt column hints that make every raw table carry
every contract column with a stable type, even when a small load has only nulls in it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from dlt.common.schema.typing import TColumnSchema


class ContractViolation(ValueError):
    """A record (or one of its values) that the raw table cannot take as it is."""


# Longer text than this is a broken producer (a blob in a name field), not data: it would
# bloat every downstream model. Free-text bodies declare their own, larger limit.
MAX_TEXT_CHARS = 4_096
# Clocks of tills and servers drift and time zones differ: only timestamps more than this
# ahead of the loader's clock are "in the future". OMNI_FUTURE_TOLERANCE_DAYS overrides it.
DEFAULT_FUTURE_TOLERANCE_DAYS = 2.0


def future_cutoff() -> datetime:
    """The latest acceptable timestamp (UTC, aware) for a record loaded now."""
    days = float(os.environ.get("OMNI_FUTURE_TOLERANCE_DAYS") or DEFAULT_FUTURE_TOLERANCE_DAYS)
    return datetime.now(UTC) + timedelta(days=days)


def parse_timestamp(value: Any) -> datetime:
    """An aware UTC datetime; naive values (POS local time) are compared as if UTC, which the
    tolerance of days more than covers."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _as_text(value: Any) -> str:
    # Real Shopify and HubSpot ids are integers; the contract keeps every id as text.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ContractViolation(f"expected text, got {type(value).__name__}")
    return str(value)


def _as_bigint(value: Any) -> int:
    if isinstance(value, bool):
        raise ContractViolation("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ContractViolation(f"expected an integer, got {value!r}")


def _as_double(value: Any) -> float:
    if isinstance(value, bool):
        raise ContractViolation("expected a number, got a boolean")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ContractViolation(f"expected a number, got {value!r}") from None


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ContractViolation(f"expected an amount, got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ContractViolation(f"expected an amount, got {value!r}") from None
    if not amount.is_finite():
        raise ContractViolation(f"expected a finite amount, got {value!r}")
    # Amounts load as DECIMAL(18,2): a third decimal or a 17th digit before the point would
    # fail the whole load when dlt writes the column; rejected here, only the record goes.
    if amount != amount.quantize(_CENT, rounding=ROUND_DOWN):
        raise ContractViolation(f"expected an amount with at most 2 decimals, got {value!r}")
    if abs(amount) >= _MAX_AMOUNT:
        raise ContractViolation(f"expected an amount below 10^16, got {value!r}")
    return amount


_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal(10) ** 16


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ContractViolation(f"expected a boolean, got {value!r}")


def as_timestamp(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            # The ISO text is kept: dlt parses it into the declared timestamp column.
            return value.strip()
    raise ContractViolation(f"expected an ISO 8601 timestamp, got {value!r}")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ContractViolation(f"expected a YYYY-MM-DD date, got {value!r}")


COERCERS: dict[str, Callable[[Any], Any]] = {
    "text": _as_text,
    "bigint": _as_bigint,
    "double": _as_double,
    "decimal": _as_decimal,
    "bool": _as_bool,
    "timestamp": as_timestamp,
    "date": _as_date,
}


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str = "text"
    required: bool = False
    # POS tills write naive local time; keep it naive so staging can localise it.
    timezone: bool = True
    # Smallest acceptable value (quantities and amounts that cannot be negative).
    min_value: float | None = None
    max_chars: int = MAX_TEXT_CHARS
    # Name of a reference set (e.g. "stores") the value must belong to; resolved by the source.
    references: str | None = None
    # A flag the loader derives: true when the source field ``derived_from[0]`` equals
    # ``derived_from[1]`` (dict records only: the REST pages that carry such markers).
    derived_from: tuple[str, Any] | None = None
    # dlt's merge deletes the row of a key whose record has this flag set (see deletion_flag).
    hard_delete: bool = False

    def semantic_problem(self, value: Any, cutoff: datetime | None = None) -> str | None:
        """What is wrong with an already-typed, non-null value beyond its type, if anything."""
        if self.min_value is not None and value < self.min_value:
            return f"negative or too small value {value!r} (minimum {self.min_value:g})"
        if self.data_type == "text" and len(value) > self.max_chars:
            return f"oversize value of {len(value)} characters (limit {self.max_chars})"
        if self.data_type == "timestamp":
            moment = parse_timestamp(value)
            if moment > (cutoff or future_cutoff()):
                return f"date in the future: {moment.isoformat()}"
        return None

    def hint(self) -> TColumnSchema:
        hint: TColumnSchema = {"name": self.name, "data_type": self.data_type}  # type: ignore[typeddict-item]
        if self.data_type == "timestamp" and not self.timezone:
            hint["timezone"] = False
        if self.data_type == "decimal":
            hint["precision"] = 18
            hint["scale"] = 2
        if self.hard_delete:
            hint["hard_delete"] = True
        return hint


@dataclass(frozen=True)
class Contract:
    """The loadable shape of one resource. Columns not listed are loaded as dlt infers them."""

    resource: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    # Nested lists that become dlt child tables: field name -> contract of one element.
    nested: Mapping[str, Contract] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = {c.name for c in self.columns}
        missing = [k for k in self.primary_key if k not in names]
        if missing:
            raise ValueError(f"{self.resource}: primary key {missing} is not a declared column")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column_hints(self) -> dict[str, TColumnSchema]:
        hints = {c.name: c.hint() for c in self.columns}
        for key in self.primary_key:
            hints[key]["nullable"] = False
        return hints

    def nested_hints(self) -> dict[str, dict[str, Any]]:
        return {name: {"columns": child.column_hints()} for name, child in self.nested.items()}

    def with_parsed_timestamps(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Checked ``records`` (nested lists included) with their ISO timestamps parsed.

        For records that stay dicts (nested ones) dlt's normaliser would parse every
        timestamp string again, value by value; a ``datetime`` it takes as it is. The
        instant is the same (naive text means UTC to dlt, and to this parse).
        """
        stamps = [c.name for c in self.columns if c.data_type == "timestamp"]
        for record in records:
            for name in stamps:
                value = record.get(name)
                if isinstance(value, str):
                    moment = datetime.fromisoformat(value)
                    record[name] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            for name, child in self.nested.items():
                items = record.get(name)
                if items:
                    child.with_parsed_timestamps(items)
        return records

    @property
    def references(self) -> dict[str, str]:
        """Column -> reference set, for the columns that must name a known entity."""
        return {c.name: c.references for c in self.columns if c.references}

    def check(
        self,
        record: Any,
        cutoff: datetime | None = None,
        known: Callable[[str], frozenset[str] | None] | None = None,
    ) -> dict[str, Any]:
        """Return the record with contract values coerced, or raise ContractViolation.

        ``known(name)`` gives a reference set (e.g. the store ids) or None when the source
        has none to check against."""
        if not isinstance(record, dict):
            raise ContractViolation(f"expected a JSON object, got {type(record).__name__}")
        for key in self.primary_key:
            if record.get(key) in (None, ""):
                raise ContractViolation(f"missing primary key `{key}`")
        clean = dict(record)
        for column in self.columns:
            value = record.get(column.name)
            if column.derived_from:
                source_field, marker = column.derived_from
                value = record.get(source_field) == marker
            if value is None or (value == "" and column.data_type != "text"):
                if column.required:
                    raise ContractViolation(f"missing required field `{column.name}`")
                clean[column.name] = None
                continue
            try:
                clean[column.name] = COERCERS[column.data_type](value)
            except ContractViolation as exc:
                raise ContractViolation(f"field `{column.name}`: {exc}") from None
            problem = column.semantic_problem(clean[column.name], cutoff)
            if problem:
                raise ContractViolation(f"field `{column.name}`: {problem}")
            if column.references and known is not None:
                values = known(column.references)
                if values is not None and clean[column.name] not in values:
                    raise ContractViolation(
                        f"field `{column.name}`: unknown {column.references} {clean[column.name]!r}"
                    )
        for name, child in self.nested.items():
            items = record.get(name)
            if items is None:
                continue
            if not isinstance(items, list):
                raise ContractViolation(f"field `{name}`: expected a list")
            try:
                clean[name] = [child.check(item, cutoff, known) for item in items]
            except ContractViolation as exc:
                raise ContractViolation(f"{name}[]: {exc}") from None
        return clean


def text(
    name: str,
    required: bool = False,
    max_chars: int = MAX_TEXT_CHARS,
    references: str | None = None,
) -> Column:
    return Column(name, "text", required, max_chars=max_chars, references=references)


def integer(name: str, required: bool = False, min_value: float | None = None) -> Column:
    return Column(name, "bigint", required, min_value=min_value)


def number(name: str, required: bool = False, min_value: float | None = None) -> Column:
    return Column(name, "double", required, min_value=min_value)


def money(name: str, required: bool = False, min_value: float | None = None) -> Column:
    return Column(name, "decimal", required, min_value=min_value)


def boolean(name: str, required: bool = False) -> Column:
    return Column(name, "bool", required)


def timestamp(name: str, required: bool = False, timezone: bool = True) -> Column:
    return Column(name, "timestamp", required, timezone)


def day(name: str, required: bool = False) -> Column:
    return Column(name, "date", required)


def deletion_flag(name: str, source_field: str, marker: Any) -> Column:
    """A boolean the loader sets when the source marks a record deleted for good
    (``source_field`` equals ``marker``); with dlt's ``hard_delete`` hint the merge then
    removes that key from the raw table instead of loading the tombstone."""
    return Column(name, "bool", derived_from=(source_field, marker), hard_delete=True)
