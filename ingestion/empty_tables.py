"""Create the raw tables a source has sent no rows for yet, shaped as a real load makes them.

dlt creates a destination table only when data reaches it, so a new POS without returns or a
shop without refunds would leave ``raw_pos.returns`` or ``raw_ecommerce.orders__refunds``
missing, and every dbt model reading them would fail. After each run, every contract table
that dlt has not created yet is materialised empty:

- a top-level table by a run of an empty resource carrying the real resource's hints
  (name, columns, keys, write disposition, file format) that yields only
  ``dlt.mark.materialize_table_schema()`` (or, for resources that hand dlt Arrow tables, an
  empty Arrow table): dlt writes an empty file, the normaliser marks the table as having seen
  data and the loader creates it with ``_dlt_load_id`` and, where rows carry one, ``_dlt_id``;
- a nested table (``conversations__messages``) through its parent's ``nested_hints``, with
  the link columns dlt's relational normaliser adds to every child row (``_dlt_parent_id``,
  ``_dlt_list_idx``, ``_dlt_id`` and, for merge tables, ``_dlt_root_id``). dlt never writes a
  file for a child table without rows, so the normaliser's "seen data" mark is set on it the
  way it would be after its first row, and the schema is synced to the destination;
- a list table of its own (``orders__refunds``, see ``nested_arrow``) by an empty Arrow table
  sent to it from the parent's resource, with the same variant hints and link columns.

A later load with rows merges into these tables as into any other: same columns, same types.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.libs.pyarrow import columns_to_arrow
from dlt.common.normalizers.json.helpers import requires_root_key
from dlt.common.schema import Schema
from dlt.common.schema.typing import TColumnSchema, TTableSchema
from dlt.common.schema.utils import has_table_seen_data

from ingestion.contracts import Contract
from ingestion.nested_arrow import LINK_COLUMNS, child_table, declare_child_tables, has_list_tables

log = logging.getLogger(__name__)


def contract_tables(name: str, contract: Contract, schema: Schema) -> list[str]:
    """The destination tables of one resource: its own and one per nested list."""
    return [name, *(schema.naming.make_path(name, child) for child in contract.nested)]


def missing_tables(
    schema: Schema, contracts: Mapping[str, Contract], resources: Iterable[str]
) -> dict[str, list[str]]:
    """Resource -> its contract tables that dlt has not created yet."""
    missing: dict[str, list[str]] = {}
    for name in resources:
        absent = [
            table
            for table in contract_tables(name, contracts[name], schema)
            if table not in schema.tables or not has_table_seen_data(schema.tables[table])
        ]
        if absent:
            missing[name] = absent
    return missing


def link_columns(schema: Schema, root_table: TTableSchema) -> dict[str, TColumnSchema]:
    """The columns dlt's relational normaliser gives every row of a child table of
    ``root_table``, with the hints its default schema settings attach to them."""
    normalizer: Any = schema.data_item_normalizer
    columns: dict[str, TColumnSchema] = {
        normalizer.c_dlt_parent_id: {"data_type": "text", "nullable": False, "parent_key": True},
        normalizer.c_dlt_list_idx: {"data_type": "bigint", "nullable": False},
        normalizer.c_dlt_id: {
            "data_type": "text",
            "nullable": False,
            "unique": True,
            "row_key": True,
        },
    }
    propagation = normalizer.normalizer_config.get("root_key_propagation")
    if requires_root_key(schema, root_table, propagation):
        columns[normalizer.c_dlt_root_id] = {
            "data_type": "text",
            "nullable": False,
            "root_key": True,
        }
    return {name: {"name": name, **column} for name, column in columns.items()}  # type: ignore[typeddict-item]


def _nothing() -> Iterator[Any]:
    yield dlt.mark.materialize_table_schema()


def _empty_arrow(columns: dict[str, TColumnSchema], caps: Any) -> Iterator[Any]:
    typed = {name: column for name, column in columns.items() if column.get("data_type")}
    yield pa.Table.from_batches([], schema=columns_to_arrow(typed, caps, "UTC"))  # type: ignore[arg-type]


def empty_resource(
    real: Any,
    contract: Contract,
    schema: Schema,
    arrow_caps: Any | None = None,
    tables: Iterable[str] = (),
    caps: Any | None = None,
) -> Any:
    """A resource named and hinted like ``real`` that loads no rows but materialises its
    table and declares its nested tables with their link columns.

    With ``arrow_caps`` (the destination's capabilities) it yields an empty Arrow table
    instead, for resources that hand dlt Arrow tables: dlt's Arrow path adds
    ``_dlt_load_id`` but no ``_dlt_id``, exactly as their loads with rows do. A resource
    whose lists are tables of their own (``nested_arrow``) yields an empty Arrow table for
    each of them among ``tables`` (typed for the destination's ``caps``), hinted as its
    loads with rows hint them."""
    table = real.compute_table_schema()
    if has_list_tables(real):
        return _empty_with_list_tables(real, contract, table, set(tables), caps)
    root = {**table, "name": real.name}
    nested = {
        child: {"columns": {**hints["columns"], **link_columns(schema, root)}}
        for child, hints in contract.nested_hints().items()
    }
    rows = _nothing() if arrow_caps is None else _empty_arrow(table["columns"], arrow_caps)
    resource = dlt.resource(
        rows,
        name=real.name,
        columns=table["columns"],
        primary_key=list(contract.primary_key),
        write_disposition=table.get("write_disposition"),
        file_format=table.get("file_format"),
    )
    if nested:
        resource.apply_hints(nested_hints=nested)
    return resource


def _empty_with_list_tables(
    real: Any, contract: Contract, table: TTableSchema, tables: set[str], caps: Any
) -> Any:
    children = {
        child_table(real.name, name): {**child.column_hints(), **LINK_COLUMNS}
        for name, child in contract.nested.items()
    }

    def rows() -> Iterator[Any]:
        if real.name in tables:
            yield dlt.mark.materialize_table_schema()
        for name, columns in children.items():
            if name in tables:
                yield dlt.mark.with_table_name(next(_empty_arrow(columns, caps)), name)

    resource = dlt.resource(rows, name=real.name)
    # The list tables first: declared after the parent's hints, they would inherit them.
    declare_child_tables(resource, contract)
    resource.apply_hints(
        columns=table["columns"],
        primary_key=list(contract.primary_key),
        write_disposition=table.get("write_disposition"),
        file_format=table.get("file_format"),
    )
    return resource


def materialize_empty_tables(
    system: str,
    pipeline: dlt.Pipeline,
    source: Any,
    contracts: Mapping[str, Contract],
    resources: Iterable[str] | None = None,
    arrow_resources: Iterable[str] = (),
) -> list[str]:
    """Create, empty, every contract table of ``resources`` (default: all of ``source``'s
    contract resources) that no load has created yet; return their names.

    ``arrow_resources`` are those whose rows reach dlt as Arrow tables without ``_dlt_id``.
    Call it after the source's own run (and after its reconciliation, which reads the last
    run's trace)."""
    if not pipeline.default_schema_name:
        return []
    names = [
        n for n in (source.resources.keys() if resources is None else resources) if n in contracts
    ]
    missing = missing_tables(pipeline.default_schema, contracts, names)
    if not missing:
        return []
    schema = pipeline.default_schema
    caps = pipeline.destination.capabilities()
    arrow = set(arrow_resources)
    pipeline.run(
        [
            empty_resource(
                source.resources[name],
                contracts[name],
                schema,
                caps if name in arrow else None,
                tables,
                caps,
            )
            for name, tables in missing.items()
        ]
    )
    schema = pipeline.default_schema
    unseen = [
        table
        for tables in missing.values()
        for table in tables
        if not has_table_seen_data(schema.tables[table])
    ]
    if unseen:
        for table in unseen:
            schema.tables[table].setdefault("x-normalizer", {})["seen-data"] = True  # type: ignore[typeddict-item]
        pipeline.schemas.save_schema(schema)
        pipeline.sync_schema()
    created = [table for tables in missing.values() for table in tables]
    log.info(
        "%s: created %d empty raw table(s) the source sent no rows for yet: %s",
        system,
        len(created),
        ", ".join(f"{pipeline.dataset_name}.{table}" for table in created),
    )
    return created
