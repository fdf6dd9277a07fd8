"""A file-drop resource: dlt's ``filesystem`` listing piped into one of our readers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.sources.filesystem import filesystem

from ingestion.contracts import Contract
from ingestion.load_keys import SeenKeys, merge_disposition
from ingestion.quarantine import count, quarantine_rows, with_validation
from ingestion.window import Window, in_window

Reader = Callable[[Contract, list[FileItemDict]], Iterator[Any]]

# The listing reaches the reader as one page: fsspec lists every file before the first page
# anyway, and dlt would run one reader per page (100 files by default), interleaved, each
# with its own read-ahead threads. One page: one reader per resource and run, its files read
# in order, at most ``files.READ_AHEAD`` of them at once.
FILES_PER_PAGE = 1_000_000


def partition_order(items: list[FileItemDict]) -> list[FileItemDict]:
    """Files oldest partition first (``dt=YYYY-MM-DD`` sorts as text), numbered files by
    number (``events-2`` before ``events-10``): fsspec lists in no particular order, and a
    key repeated across files keeps the version of the file read first."""
    return sorted(items, key=lambda item: _natural(item["relative_path"]))


def _natural(path: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def file_drop(
    bucket_url: str,
    file_glob: str,
    contract: Contract,
    reader: Reader,
    window: Window | None = None,
    upsert: bool = False,
) -> Any:
    """Load only files that are new or changed since the last run, merged on the primary key.

    ``bucket_url`` is any fsspec URL (``file:///...``, ``s3://...``); the listing resource
    keeps its own incremental cursor on ``modification_date``. With a ``window``, exactly the
    files of its ``dt=`` partitions are read, new or not, and that cursor is neither read
    nor moved (the listing has no incremental at all).

    ``upsert=True`` (readers yielding Arrow tables only) merges with DuckDB's ``MERGE INTO``
    instead of dlt's default delete-insert, after making sure no key reaches the load twice
    (see load_keys.py). Use it for records whose latest version simply replaces the last;
    records with child tables keep delete-insert, and their readers hand each nested list
    as a table of its own (``nested_arrow``), whose merge replaces a record's children.
    """
    listing = filesystem(
        bucket_url=bucket_url,
        file_glob=file_glob,
        files_per_page=FILES_PER_PAGE,
        incremental=None if window else dlt.sources.incremental("modification_date"),
    ).with_name(f"{contract.resource}_files")
    if window:
        listing.add_filter(lambda item: in_window(item["relative_path"], window))

    seen = SeenKeys(contract) if upsert else None

    def read(items: list[FileItemDict]) -> Iterator[Any]:
        for item in reader(contract, partition_order(items)):
            if seen is None or not isinstance(item, pa.Table):
                yield item
                continue
            kept, repeated = seen.split(item)
            if repeated:
                count(dlt.current.resource_metrics(), quarantined=len(repeated))
                yield quarantine_rows(contract.resource, repeated)
            if kept.num_rows:
                yield kept

    reader_resource = dlt.transformer(
        read,
        name=contract.resource,
        primary_key=list(contract.primary_key),
        write_disposition=merge_disposition(upsert),
    )
    # The readers validate while parsing, so no separate validation step. Records with
    # nested lists arrive as Arrow tables of their own (files.read_jsonl_nested).
    return listing | with_validation(
        reader_resource, contract, step=False, as_arrow=bool(contract.nested)
    )


def local_bucket(sources_dir: Path, system: str) -> str:
    return (Path(sources_dir).resolve() / system).as_uri()
