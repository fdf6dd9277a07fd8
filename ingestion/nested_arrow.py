"""Records with nested lists (shop orders and their lines and refunds) handed to dlt as Arrow
tables: the parent and one table per list, linked as dlt's relational normaliser links them.

dlt's normaliser visits every value of every nested record in Python; for the shop's orders
it was most of the ecommerce run. dlt 1.31 refuses Arrow items for a nested table (an item
dispatched to a table with a ``parent`` fails the extract metrics), so each list becomes a
root table of its own, a variant of the parent's resource (``orders__line_items``), with
the same columns as before:

- the parent's ``_dlt_id`` is a hash of its primary key, as dlt makes it for ``upsert``
  (``key_hash``), so it stays the same from load to load;
- a child row carries ``_dlt_parent_id`` and ``_dlt_root_id`` (the parent's ``_dlt_id``),
  ``_dlt_list_idx`` (its place in the list) and ``_dlt_id`` (dlt's nested row hash of those);
- a child table merges ``delete-insert`` with a ``destination_scope`` on ``_dlt_root_id``:
  every parent in the load replaces all of its children, so a line or refund removed
  upstream disappears. A parent sent with an empty list sends one marker row (list index
  -1) that the merge's ``source_filter`` keeps out of the table: it only names the parent
  whose children go.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.json.helpers import get_nested_row_hash, get_row_hash
from dlt.pipeline.helpers import pipeline_drop

from ingestion.arrow_pages import contract_arrow_schema
from ingestion.contracts import Contract
from ingestion.destination import stored_schema

log = logging.getLogger(__name__)

DLT_ID = "_dlt_id"
PARENT_ID = "_dlt_parent_id"
ROOT_ID = "_dlt_root_id"
LIST_IDX = "_dlt_list_idx"
# The list index of a marker row: it names a parent whose children are all gone.
MARKER_IDX = -1

LINK_COLUMNS: dict[str, Any] = {
    PARENT_ID: {"name": PARENT_ID, "data_type": "text", "nullable": False},
    LIST_IDX: {"name": LIST_IDX, "data_type": "bigint", "nullable": False},
    DLT_ID: {"name": DLT_ID, "data_type": "text", "nullable": False},
    ROOT_ID: {"name": ROOT_ID, "data_type": "text", "nullable": False},
}
_LINK_TYPES = {
    PARENT_ID: pa.string(),
    LIST_IDX: pa.int64(),
    DLT_ID: pa.string(),
    ROOT_ID: pa.string(),
}

# Each parent in the staging table replaces all its children; marker rows are not loaded.
# The primary key `_dlt_id` de-duplicates a file staged twice by a resumed load.
CHILD_WRITE_DISPOSITION: dict[str, Any] = {
    "disposition": "merge",
    "strategy": "delete-insert",
    "destination_scope": f"{ROOT_ID} IN (SELECT {ROOT_ID} FROM {{staging_table}})",
    "source_filter": f"{LIST_IDX} >= 0",
}


def child_table(resource: str, child: str) -> str:
    return f"{resource}__{child}"


def root_id_hint() -> dict[str, Any]:
    """The parent's ``_dlt_id`` column: a key hash, never null."""
    return {DLT_ID: {"name": DLT_ID, "data_type": "text", "nullable": False}}


def declare_child_tables(resource: Any, contract: Contract) -> Any:
    """Declare each nested list's table as a variant of ``resource``: its contract columns,
    dlt's link columns, and the merge that replaces a parent's children."""
    for name, child in contract.nested.items():
        resource.apply_hints(
            table_name=child_table(resource.name, name),
            columns={**child.column_hints(), **LINK_COLUMNS},
            primary_key=[DLT_ID],
            merge_key=[],
            write_disposition=CHILD_WRITE_DISPOSITION,
            create_table_variant=True,
        )
    return resource


@dataclass
class NestedPage:
    """A checked page as Arrow: the parents' columns, and per nested list the items' columns
    with the position of each item's parent and the item's place in its list."""

    root: pa.Table
    children: dict[str, tuple[pa.Table, np.ndarray, np.ndarray]]

    def take(self, keep: np.ndarray) -> NestedPage:
        """Only the parents where ``keep`` is True, with their children."""
        if keep.all():
            return self
        new_position = np.cumsum(keep) - 1
        children = {}
        for name, (table, parents, index) in self.children.items():
            mine = keep[parents]
            kept = table.filter(pa.array(mine))
            children[name] = (kept, new_position[parents[mine]], index[mine])
        return NestedPage(self.root.filter(pa.array(keep)), children)


def list_positions(lists: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """For the items of ``lists`` (one list or None per parent), flattened in order: the
    position of each item's parent and its index in that list."""
    present = lists if None not in lists else [v or () for v in lists]
    sizes = np.fromiter(map(len, present), dtype=np.int64, count=len(lists))
    parents = np.repeat(np.arange(len(lists), dtype=np.int64), sizes)
    starts = np.cumsum(sizes) - sizes
    return parents, np.arange(len(parents), dtype=np.int64) - starts[parents]


def key_hashes(contract: Contract, root: pa.Table) -> list[str]:
    """dlt's ``key_hash`` row id of each parent (the one it gives ``upsert`` tables)."""
    keys = list(contract.primary_key)
    columns = [root[k].to_pylist() for k in keys]
    rows = zip(*columns, strict=True)
    return [get_row_hash(dict(zip(keys, values, strict=True)), keys) for values in rows]


def load_tables(contract: Contract, page: NestedPage) -> list[tuple[str, pa.Table]]:
    """(table name, Arrow table) to hand dlt: the parents with their key-hash ``_dlt_id``
    first, then each nested list's table with link columns and marker rows."""
    ids = key_hashes(contract, page.root)
    id_array = pa.array(ids, type=pa.string())
    root = page.root.append_column(pa.field(DLT_ID, pa.string(), nullable=False), id_array)
    tables = [(contract.resource, _keys_not_null(root, contract.primary_key))]
    for name, child in contract.nested.items():
        table_name = child_table(contract.resource, name)
        items, parents, index = page.children.get(name) or _no_items(child)
        rows = _child_rows(child, table_name, (ids, id_array), items, parents, index)
        tables.append((table_name, _keys_not_null(rows, child.primary_key)))
    return tables


def _keys_not_null(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    # The keys hold no nulls: saying so keeps the Arrow schema in line with dlt's.
    fields = [f.with_nullable(False) if f.name in keys else f for f in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _no_items(child: Contract) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    empty = np.empty(0, dtype=np.int64)
    return _empty_items(child), empty, empty


def _empty_items(child: Contract) -> pa.Table:
    return contract_arrow_schema(child).empty_table()


def _child_rows(
    child: Contract,
    table_name: str,
    ids: tuple[list[str], pa.Array],
    items: pa.Table,
    parents: np.ndarray,
    index: np.ndarray,
) -> pa.Table:
    """The items with their link columns, then one marker row per parent without items.
    ``ids`` are the parents' row ids, as text for dlt's hash and as an Arrow array to take
    the link columns from."""
    texts, id_array = ids
    parent_ids = id_array.take(pa.array(parents))
    links = {
        PARENT_ID: parent_ids,
        LIST_IDX: index,
        DLT_ID: [
            get_nested_row_hash(texts[p], table_name, i)
            for p, i in zip(parents.tolist(), index.tolist(), strict=True)
        ],
        ROOT_ID: parent_ids,
    }
    childless = np.ones(len(texts), dtype=bool)
    childless[parents] = False
    table = _with_links(items, links)
    if not childless.any():
        return table
    bare = id_array.filter(pa.array(childless))
    markers = _with_links(
        _marker_items(items.schema, child, len(bare)),
        {PARENT_ID: bare, LIST_IDX: np.full(len(bare), MARKER_IDX), DLT_ID: bare, ROOT_ID: bare},
    )
    return pa.concat_tables([table, markers])


def _with_links(items: pa.Table, links: dict[str, Any]) -> pa.Table:
    for name, values in links.items():
        field = pa.field(name, _LINK_TYPES[name], nullable=False)
        array = values if isinstance(values, pa.Array) else pa.array(values, type=field.type)
        items = items.append_column(field, array)
    return items


def _marker_items(schema: pa.Schema, child: Contract, rows: int) -> pa.Table:
    """Marker rows: null everywhere except the keys, which the table declares NOT NULL."""
    keys = set(child.primary_key)
    arrays = [
        pa.array([""] * rows, type=f.type) if f.name in keys else pa.nulls(rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def mark_tables(tables: list[tuple[str, pa.Table]]) -> list[Any]:
    """The tables as dlt items: the parent's as it is, the others marked with their table."""
    items: list[Any] = []
    for i, (name, table) in enumerate(tables):
        if i == 0:
            items.append(table)
        elif table.num_rows:
            items.append(dlt.mark.with_table_name(table, name))
    return items


def child_table_of(meta: Any, resource: str) -> bool:
    """Whether an item's meta sends it to one of ``resource``'s list tables."""
    name = getattr(meta, "table_name", None)
    return isinstance(name, str) and name.startswith(f"{resource}__")


def rows_of_parents(table: pa.Table, parent_ids: set[str]) -> pa.Array:
    """Mask of the child rows (marker rows included) whose parent is in ``parent_ids``."""
    if not parent_ids:
        return pa.array([False] * table.num_rows)
    return pc.fill_null(pc.is_in(table[ROOT_ID], pa.array(sorted(parent_ids))), False)


def reload_previous_layout(system: str, pipeline: dlt.Pipeline, source: Any) -> list[str]:
    """Drop, once, the resources of ``source`` whose list tables a warehouse still holds as
    dlt nested tables (the layout before this module): their parents' row ids are random
    there, so the new children could not find their parents' earlier children, and the
    stored schema would treat the tables as a nested chain. dlt's own ``pipeline drop``
    removes the tables and the incremental state of the resource and of the resources it
    reads from; this run then reloads those resources from scratch. Returns the resources
    dropped."""
    stale = _nested_layout_resources(pipeline, source)
    if not stale:
        return []
    tables = [
        f"{pipeline.dataset_name}.{name}"
        for name in pipeline.default_schema.tables
        if any(name == r or name.startswith(f"{r}__") for r in stale)
    ]
    log.warning(
        "%s: %s hold(s) the child tables as dlt nested tables (the layout before they "
        "were loaded as Arrow tables of their own); dropping %s and reloading %s from "
        "scratch in this run, so every child row links to its parent's stable row id",
        system,
        ", ".join(stale),
        ", ".join(tables),
        ", ".join(stale),
    )
    feeders = [f for name in stale for f in _feeding_resources(source.resources[name])]
    pipeline_drop(pipeline, resources=[*stale, *feeders])()
    return stale


def _feeding_resources(resource: Any) -> list[str]:
    """The resources a transformer reads from (a file drop's listing): their incremental
    state goes too, or the listing would hand the reload none of the files it passed."""
    names = []
    pipe = resource._pipe.parent
    while pipe is not None:
        names.append(pipe.name)
        pipe = pipe.parent
    return names


def list_tables(resource: Any) -> list[str]:
    """The list tables ``declare_child_tables`` declared on ``resource`` (its variants)."""
    return [t for t in resource._hints_variants if t.startswith(f"{resource.name}__")]


def has_list_tables(resource: Any) -> bool:
    return bool(list_tables(resource))


def _nested_layout_resources(pipeline: dlt.Pipeline, source: Any) -> list[str]:
    layout = {name: list_tables(resource) for name, resource in source.selected_resources.items()}
    layout = {name: children for name, children in layout.items() if children}
    if not layout:
        return []
    schema = stored_schema(pipeline)
    if schema is None:
        return []
    tables = schema.tables
    return [
        name
        for name, children in layout.items()
        if any(tables.get(child, {}).get("parent") for child in children)
    ]
