"""Delete one person's rows from the working warehouse and from the published file.

Raw tables (and dlt's ``<dataset>_staging`` copies of the last merge) are matched with the
same test the ingestion pipelines apply on replay (``ingestion.privacy``): a row goes if its
key, a key it references, or one of its normalised identifiers is erased. That way the
warehouse after ``omni forget`` is exactly what a full reload would give. Rows found that
way (a ticket with the person's email that identity resolution had not linked) add their
own keys, until nothing new turns up; dlt child tables (order lines, refunds, messages) go
with their parent through ``_dlt_root_id``.

Every other table (staging and intermediate tables, snapshots, incremental facts,
Splink matches, marts, audit tables) is matched generically: any text column holding one
of the person's values (customer ids, record ids, record keys, identifiers only they
used), alone or as a ``|``/``:``/``~``-separated part of a composite key. A table added
later is covered without a change here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.pipelines import CONTRACTS, dataset_name
from ingestion.privacy import (
    PERSON_FIELDS,
    Blocklist,
    erased_mask,
    identifier_hash,
    person_field_names,
    record_hash,
)
from ingestion.quarantine import QUARANTINE_TABLE
from orchestration.lib.publish import replace_atomically
from orchestration.privacy.resolve import Person

log = logging.getLogger(__name__)

_KEY_SEPARATORS = "|:~"


@dataclass
class ErasurePlan:
    """What to erase: the ledger's hashes and, in memory only, the plain values to match."""

    blocklist: Blocklist
    # (schema, table) -> the erased rows' primary key (and ``_dlt_id`` when the table has it).
    raw_rows: dict[tuple[str, str], pa.Table]
    values: list[str]

    @property
    def pattern(self) -> str:
        return value_pattern(self.values)


def value_pattern(values: Iterable[str]) -> str:
    """A regular expression (RE2) matching a text that is one of ``values`` or holds one as a
    separated part of a composite key (``01|crm|contacts|1000266``, ``pos:pickups:PK1``)."""
    alternatives = "|".join(re.escape(v) for v in sorted(set(values), key=len, reverse=True))
    sep = re.escape(_KEY_SEPARATORS)
    return f"(^|[{sep}])({alternatives})($|[{sep}])"


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _table_columns(con, schema: str, table: str, catalog: str | None = None) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = coalesce(?, current_database()) and table_schema = ? "
        "and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    return dict(rows)


def _raw_tables(con) -> list[tuple[str, str, str, str]]:
    """(system, resource, schema, table) of every raw table that carries personal data, the
    main dataset first, then dlt's staging copy of it."""
    found = []
    for suffix in ("", "_staging"):
        for system, resources in PERSON_FIELDS.items():
            for resource in resources:
                schema = dataset_name(system) + suffix
                if _table_columns(con, schema, resource):
                    found.append((system, resource, schema, resource))
    return found


def _key_columns(system: str, resource: str) -> list[str]:
    return list(CONTRACTS[system][resource].primary_key)


def _read(con, system: str, resource: str, schema: str, table: str) -> pa.Table:
    columns = _table_columns(con, schema, table)
    wanted = person_field_names(PERSON_FIELDS[system][resource])
    wanted += [*_key_columns(system, resource), "_dlt_id"]
    select = ", ".join(_quoted(c) for c in dict.fromkeys(wanted) if c in columns)
    return con.execute(f"select {select} from {_quoted(schema)}.{_quoted(table)}").to_arrow_table()


def plan_erasure(con: duckdb.DuckDBPyConnection, person: Person) -> ErasurePlan:
    """The rows and hashes to erase (reads only)."""
    records = {record_hash(*r) for r in person.records}
    plain = {r[2] for r in person.records}
    identifiers = {identifier_hash(i.identifier_type, i.value) for i in person.exclusive()}
    tables = {(s, r, sc, t): _read(con, s, r, sc, t) for s, r, sc, t in _raw_tables(con)}
    main = [k for k in tables if not k[2].endswith("_staging")]
    memo: dict = {}
    grown = True
    while grown:  # rows found by identifier bring their own keys: again until stable
        grown = False
        blocklist = Blocklist(set(records), set(identifiers), memo)
        for system, resource, schema, table in main:
            fields = PERSON_FIELDS[system][resource]
            if not (fields.key and fields.entity):
                continue
            data = tables[(system, resource, schema, table)]
            hits = data.filter(erased_mask(system, resource, data, blocklist))[fields.key]
            for key in hits.to_pylist():
                digest = record_hash(system, fields.entity, key)
                if key is not None and digest not in records:
                    records.add(digest)
                    plain.add(str(key))
                    grown = True
    blocklist = Blocklist(records, identifiers, memo)
    raw_rows = {}
    for (system, resource, schema, table), data in tables.items():
        erased = data.filter(erased_mask(system, resource, data, blocklist))
        keep = [c for c in [*_key_columns(system, resource), "_dlt_id"] if c in data.column_names]
        raw_rows[(schema, table)] = erased.select(keep)
    values = {person.customer_id, *person.previous_customer_ids, *person.record_keys, *plain}
    values |= {i.value for i in person.identifiers if i.is_exclusive}
    return ErasurePlan(blocklist, raw_rows, sorted(v for v in values if v))


def _delete_children(con, schema: str, table: str, dlt_ids: list[str], counts) -> None:
    children = con.execute(
        "select table_name from information_schema.tables where table_catalog = "
        "current_database() and table_schema = ? and starts_with(table_name, ?)",
        [schema, f"{table}__"],
    ).fetchall()
    for (child,) in children:
        if "_dlt_root_id" not in _table_columns(con, schema, child):
            continue
        (n,) = con.execute(
            f"delete from {_quoted(schema)}.{_quoted(child)} where list_contains(?, _dlt_root_id)",
            [dlt_ids],
        ).fetchone()
        counts[f"{schema}.{child}"] = counts.get(f"{schema}.{child}", 0) + n


def _delete_raw(con, plan: ErasurePlan, counts: dict[str, int]) -> None:
    for (schema, table), rows in plan.raw_rows.items():
        if not rows.num_rows:
            continue
        if "_dlt_id" in rows.column_names:
            _delete_children(con, schema, table, rows["_dlt_id"].to_pylist(), counts)
        keys = [c for c in rows.column_names if c != "_dlt_id"]
        con.register("erased_keys", rows.select(keys))
        try:
            match = " and ".join(
                f"{_quoted(table)}.{_quoted(k)} = erased_keys.{_quoted(k)}" for k in keys
            )
            (n,) = con.execute(
                f"delete from {_quoted(schema)}.{_quoted(table)} using erased_keys where {match}"
            ).fetchone()
        finally:
            con.unregister("erased_keys")
        counts[f"{schema}.{table}"] = counts.get(f"{schema}.{table}", 0) + n


def _quarantined_is_erased(system: str, row_resource: str, payload: str, plan) -> bool:
    try:
        record = json.loads(payload)
    except (TypeError, ValueError):
        record = {"raw": payload}
    matcher = plan.blocklist.record_matcher(system, row_resource)
    if isinstance(record, dict) and matcher is not None and matcher(record):
        return True
    # Unparseable input is kept as text: look for the person's values in it.
    text = record.get("raw", "") if isinstance(record, dict) else payload
    return bool(re.search(plan.pattern, str(text)))


def _delete_quarantined(con, plan: ErasurePlan, counts: dict[str, int]) -> None:
    for system in PERSON_FIELDS:
        schema = dataset_name(system)
        if not _table_columns(con, schema, QUARANTINE_TABLE):
            continue
        rows = con.execute(
            f"select rowid, resource, payload from {_quoted(schema)}.{QUARANTINE_TABLE}"
        ).fetchall()
        erased = [
            rowid
            for rowid, resource, payload in rows
            if _quarantined_is_erased(system, resource, payload, plan)
        ]
        if erased:
            (n,) = con.execute(
                f"delete from {_quoted(schema)}.{QUARANTINE_TABLE} where list_contains(?, rowid)",
                [erased],
            ).fetchone()
            counts[f"{schema}.{QUARANTINE_TABLE}"] = n


def _derived_tables(con, catalog: str | None, skip: set[tuple[str, str]]) -> list[tuple[str, str]]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = coalesce(?, current_database()) and table_type = 'BASE TABLE' "
        "order by 1, 2",
        [catalog],
    ).fetchall()
    return [
        (schema, table)
        for schema, table in rows
        if (schema, table) not in skip
        and not table.startswith("_dlt")
        and table != QUARANTINE_TABLE
    ]


def matching_rows_sql(con, schema: str, table: str, pattern: str, catalog: str | None = None):
    """A SQL condition true for rows holding one of the person's values, or None when the
    table has no text column."""
    text_columns = [
        c for c, t in _table_columns(con, schema, table, catalog).items() if t == "VARCHAR"
    ]
    if not text_columns:
        return None
    literal = _sql_text(pattern)
    return " or ".join(
        f"coalesce(regexp_matches({_quoted(c)}, {literal}), false)" for c in text_columns
    )


def _delete_derived(con, plan: ErasurePlan, counts: dict[str, int]) -> None:
    if not plan.values:
        return
    pattern = plan.pattern
    for schema, table in _derived_tables(con, None, set(plan.raw_rows)):
        condition = matching_rows_sql(con, schema, table, pattern)
        if condition is None:
            continue
        (n,) = con.execute(
            f"delete from {_quoted(schema)}.{_quoted(table)} where {condition}"
        ).fetchone()
        if n:
            counts[f"{schema}.{table}"] = n


def erase_warehouse(con: duckdb.DuckDBPyConnection, plan: ErasurePlan) -> dict[str, int]:
    """Delete everything of ``plan`` from the warehouse in one transaction; rows per table."""
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        _delete_raw(con, plan, counts)
        _delete_quarantined(con, plan, counts)
        _delete_derived(con, plan, counts)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    # Deleted rows leave the file's blocks on the next checkpoint, not at commit.
    con.execute("checkpoint")
    return {k: v for k, v in counts.items() if v}


def _copy_without(old: Path, new: Path, pattern: str) -> dict[str, int]:
    con = duckdb.connect(":memory:")
    counts = {}
    try:
        con.execute(f"attach {_sql_text(str(old))} as old (read_only)")
        con.execute(f"attach {_sql_text(str(new))} as pub")
        for schema, table in _derived_tables(con, "old", set()):
            con.execute(f"create schema if not exists pub.{_quoted(schema)}")
            source = f"old.{_quoted(schema)}.{_quoted(table)}"
            target = f"pub.{_quoted(schema)}.{_quoted(table)}"
            condition = matching_rows_sql(con, schema, table, pattern, catalog="old")
            where = f" where not ({condition})" if condition else ""
            con.execute(f"create table {target} as select * from {source}{where}")
            (before,) = con.execute(f"select count(*) from {source}").fetchone()
            (after,) = con.execute(f"select count(*) from {target}").fetchone()
            if before - after:
                counts[f"{schema}.{table}"] = before - after
        con.execute("checkpoint pub")
        con.execute("detach pub")
        con.execute("detach old")
    finally:
        con.close()
    return counts


def erase_published(published: Path, plan: ErasurePlan) -> dict[str, int]:
    """Rebuild the published file without the person's rows and swap it in atomically, as a
    publish does: a BI reader keeps the old file open, and the deleted rows are not left in
    the new file's free blocks."""
    if not published.exists() or not plan.values:
        return {}
    return replace_atomically(
        published, lambda staging: _copy_without(published, staging, plan.pattern)
    )


def purge_loaded_packages(pipelines_dir: Path) -> int:
    """Delete the data files dlt keeps of packages it already loaded (``load/loaded/*/
    completed_jobs``): local copies of rows that are in the warehouse, the person's
    included. The package folders (state, schema updates) stay. Files deleted."""
    removed = 0
    for job in pipelines_dir.glob("*/load/loaded/*/completed_jobs/*"):
        if job.is_file():
            job.unlink()
            removed += 1
    return removed


def total(counts: dict[str, int]) -> int:
    return sum(counts.values())
