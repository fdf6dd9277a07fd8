"""A file-drop resource: dlt's ``filesystem`` listing piped into one of our readers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.sources.filesystem import filesystem

from ingestion.contracts import Contract
from ingestion.load_keys import DeliveredKeys, merge_disposition
from ingestion.quarantine import with_validation
from ingestion.window import Window, describe, in_window

log = logging.getLogger(__name__)

# A reader gets the files of a load, newest delivery first, the load's key guard, and the
# files of which it reads the keys only (``later_outside``).
Reader = Callable[[Contract, list[FileItemDict], DeliveredKeys, frozenset[str]], Iterator[Any]]

# The listing reaches the reader as one page: fsspec lists every file before the first page
# anyway, and dlt would run one reader per page (100 files by default), interleaved, each
# with its own read-ahead threads. One page: one reader per resource and run, its files read
# in order, at most ``files.READ_AHEAD`` of them at once. A window run needs the one page
# too: it compares the window's files with every later delivery (``window_files``).
FILES_PER_PAGE = 1_000_000


def newest_first(items: list[FileItemDict]) -> list[FileItemDict]:
    """The files of one load, newest delivery first: by ``modification_date``, then (equal
    times, e.g. a bucket's one-second stamps) the later partition and file number
    (``dt=YYYY-MM-DD`` sorts as text, ``events-10`` after ``events-2``).

    A key repeated across files keeps the version read first (``load_keys.DeliveredKeys``),
    so a load of several days' files (a first load, a run after an outage) ends with the
    newest delivered version of each key, as runs one delivery at a time would. fsspec
    lists in no particular order."""
    return sorted(items, key=_delivery_order, reverse=True)


def _delivery_order(item: FileItemDict) -> tuple[Any, list[Any]]:
    return item["modification_date"], _natural(item["relative_path"])


def window_files(
    items: list[FileItemDict], window: Window
) -> tuple[list[FileItemDict], frozenset[str]]:
    """The files a window run reads: those of its ``dt=`` partitions, and the files outside
    it delivered after the oldest of them, of which only the keys are read (their paths).

    A key of the window delivered again later outside it (a re-export, a correction in the
    next day's file) must keep that newer version: reading those keys in delivery order
    lets ``DeliveredKeys`` set the window's older version aside, as a normal run would. A
    file delivered before every window file cannot hold a newer version, so is not read."""
    inside = [item for item in items if in_window(item["relative_path"], window)]
    if not inside:
        return [], frozenset()
    oldest = min(map(_delivery_order, inside))
    later = [
        item
        for item in items
        if not in_window(item["relative_path"], window) and _delivery_order(item) > oldest
    ]
    return inside + later, frozenset(item["relative_path"] for item in later)


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
    """Load only files that are new or changed since the last run, merged on the primary key:
    the newest delivered version of a key wins, also among the files of one load (the
    readers set older ones aside, ``load_keys.DeliveredKeys``).

    ``bucket_url`` is any fsspec URL (``file:///...``, ``s3://...``); the listing resource
    keeps its own incremental cursor on ``modification_date``. With a ``window``, exactly the
    files of its ``dt=`` partitions are loaded, new or not, and that cursor is neither read
    nor moved (the listing has no incremental at all); the keys of files delivered later
    outside the window are read too, so that the window's older versions of them are set
    aside (``window_files``).

    ``upsert=True`` (readers yielding Arrow tables only) merges with DuckDB's ``MERGE INTO``
    instead of dlt's default delete-insert, which the readers allow by sending each key at
    most once per load (see load_keys.py). Use it for records whose latest version simply
    replaces the last; records with child tables keep delete-insert, and their readers hand
    each nested list as a table of its own (``nested_arrow``), whose merge replaces a
    record's children.
    """
    listing = filesystem(
        bucket_url=bucket_url,
        file_glob=file_glob,
        files_per_page=FILES_PER_PAGE,
        incremental=None if window else dlt.sources.incremental("modification_date"),
    ).with_name(f"{contract.resource}_files")

    # The keys of the load so far, kept across listing pages, should there be several.
    seen = DeliveredKeys(contract)

    def read(items: list[FileItemDict]) -> Iterator[Any]:
        later_outside: frozenset[str] = frozenset()
        if window:
            items, later_outside = window_files(items, window)
            _log_window_files(contract, window, len(items), len(later_outside))
        yield from reader(contract, newest_first(items), seen, later_outside)

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


def _log_window_files(contract: Contract, window: Window, files: int, later: int) -> None:
    if later:
        log.info(
            "%s: backfill %s loads %d file(s) of its days and reads the keys of %d file(s) "
            "delivered after them outside it, so that no older version replaces a newer one",
            contract.resource,
            describe(window),
            files - later,
            later,
        )


def local_bucket(sources_dir: Path, system: str) -> str:
    return (Path(sources_dir).resolve() / system).as_uri()
