"""Shared habits of the REST sources: a retrying HTTP session, the incremental window, and
the contract step on every resource of a ``rest_api`` source."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
from dlt.common.jsonpath import JSONPath, compile_path
from dlt.sources.helpers.requests import Client
from requests import Response, Session

from ingestion.contracts import Contract
from ingestion.quarantine import with_validation
from ingestion.window import Window, iso_utc, utc_bounds

# REST pages hold at most 100 / 250 records (the APIs' maximum), and dlt does fixed work for
# every item it extracts (a table schema computed and validated per Arrow item, a step chain
# per item): consecutive pages travel on together, up to this many records.
PAGE_BATCH_RECORDS = 5_000

# Epoch start: the first run asks for everything.
INITIAL_CURSOR = "1970-01-01T00:00:00Z"

# Enough attempts that a flaky API (the sandbox's fault rate 0.2, i.e. ~0.2**12 per
# request) practically never fails a run; Retry-After is honoured when sent.
MAX_ATTEMPTS = 12
BACKOFF_FACTOR = 0.25
MAX_RETRY_DELAY_S = 10


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def http_session(base_url: str | None = None) -> Session:
    """A retrying session. A loopback API (the sandbox) is never behind a proxy, so its
    session skips requests' per-request scan of the environment for proxy settings."""
    client = Client(
        raise_for_status=False,
        request_max_attempts=MAX_ATTEMPTS,
        request_backoff_factor=BACKOFF_FACTOR,
        request_max_retry_delay=MAX_RETRY_DELAY_S,
        respect_retry_after_header=True,
    )
    session = client.session
    if base_url and urlsplit(base_url).hostname in LOOPBACK_HOSTS:
        session.trust_env = False
    return session


def decode_json_once(response: Response, *args: Any, **kwargs: Any) -> Response:
    """A response hook: ``response.json()`` decoded once, with orjson.

    ``rest_api`` reads ``response.json()`` for the page's records and again for the
    paginator's cursor; requests decodes the body anew (simplejson) on every call.
    """
    response.json = JsonOnce(response.content)  # type: ignore[method-assign]
    return response


class JsonOnce:
    """A body's JSON, decoded on the first call and kept.

    It holds the body, never the response: a ``json`` closure over the response made every
    response a reference cycle, so each response and its decoded page stayed in memory
    until a pass of the garbage collector found it (all 734 of a 183k-record shop load),
    instead of going as soon as the page has been handed on."""

    def __init__(self, content: bytes) -> None:
        self._content: bytes | None = content
        self._decoded: Any = None

    def __call__(self, **_: Any) -> Any:
        if self._content is not None:
            self._decoded = orjson.loads(self._content)
            self._content = None
        return self._decoded


def data_selector(path: str) -> JSONPath:
    """``path`` compiled once: rest_api re-parses a text selector for every page."""
    return compile_path(path)


def incremental_updated_at(start_param: str, lag_days: float) -> dict[str, Any]:
    """Server-side filter on ``updated_at`` that re-reads a lag window for late updates.

    Re-read records are merged on the primary key, so the window costs bandwidth, never
    duplicates. Records without ``updated_at`` are let through so the contract step
    quarantines them instead of dlt failing the whole run.
    """
    return {
        "start_param": start_param,
        "cursor_path": "updated_at",
        "initial_value": INITIAL_CURSOR,
        "lag": lag_days * 86_400,
        "on_cursor_value_missing": "include",
    }


def incremental_created_in(window: Window, start_param: str, end_param: str) -> dict[str, Any]:
    """dlt's backfill mode over ``created_at``: records created in the window's business days.

    With both ``initial_value`` and ``end_value`` dlt neither reads nor writes the
    incremental state, so a window run leaves the normal cursor where it was. The bounds go
    to the API as filters (real Shopify: ``created_at_min`` / ``created_at_max``) and dlt
    also filters on them client-side, end exclusive, so an API that ignores the filters
    costs bandwidth, never correctness. A record without ``created_at`` belongs to no day.
    """
    start, end = utc_bounds(window)
    return {
        "start_param": start_param,
        "end_param": end_param,
        "cursor_path": "created_at",
        "initial_value": iso_utc(start),
        "end_value": iso_utc(end),
        "on_cursor_value_missing": "exclude",
    }


def resource_config(contract: Contract, endpoint: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": contract.resource,
        "primary_key": list(contract.primary_key),
        "write_disposition": "merge",
        # A response action that is a callable is a plain response hook (rest_api's own
        # raise-for-status hook still follows it).
        "endpoint": {**endpoint, "response_actions": [decode_json_once]},
    }
    return config


VERSION_COLUMN = "updated_at"


def validate_resources(
    resources: list[Any], contracts: Mapping[str, Contract], guard_cursor: bool = True
) -> list[Any]:
    """The contract on every resource, with a guard on the ``updated_at`` cursor.

    ``guard_cursor=False`` for a backfill window run: its incremental runs on ``created_at``
    and keeps no state to protect, while the guard's quarantine rows (which carry no
    ``created_at``) would meet dlt's window filter, which drops them
    (``on_cursor_value_missing="exclude"``): counted as received, never quarantined. The
    contract check after dlt's filter rejects a bad ``updated_at`` with the same reason.
    """
    for resource in resources:
        contract = contracts[resource.name]
        batched_pages(resource)
        # Two versions of a key in one load: the merge keeps the latest, guard or not.
        with_validation(
            resource,
            contract,
            cursor_guard=VERSION_COLUMN if guard_cursor else None,
            as_arrow=True,
            dedup_sort=VERSION_COLUMN,
        )
    return resources


def batched_pages(resource: Any, records: int | None = None) -> Any:
    """Hand the pages of a ``rest_api`` resource on in batches of up to ``records`` records,
    fetched ahead (``prefetched``) while the batches before are checked and extracted.

    Pagination, auth and the incremental filter stay rest_api's: the paging generator is
    wrapped the way dlt's own ``parallelize()`` wraps it. Pages keep their order, so within
    a batch the last version of a key is still the newest.
    """
    records = records or PAGE_BATCH_RECORDS
    pipe = resource._pipe  # dlt exposes no public hook for the generator step
    head = pipe.gen
    if not callable(head):
        return resource

    def batches() -> Iterator[Any]:
        batch: list[Any] = []
        for page in prefetched(head()):
            if not isinstance(page, list):
                # An item with its own meta (table name, hints) is not merged with others.
                if batch:
                    yield batch
                    batch = []
                yield page
                continue
            batch.extend(page)
            if len(batch) >= records:
                yield batch
                batch = []
        if batch:
            yield batch

    pipe.replace_gen(batches)
    return resource


# Pages fetched ahead of the consumer: enough to cover a batch being checked and extracted,
# few enough that memory stays flat whatever the volume.
PREFETCH_PAGES = 8
_DONE = object()


def prefetched(pages: Iterator[Any], depth: int = PREFETCH_PAGES) -> Iterator[Any]:
    """``pages`` in order, the next ones requested by a background thread meanwhile.

    Paging is a chain (each response names the next page), so a resource cannot fetch its
    pages in parallel; but while the API prepares page n+1 this thread can check and extract
    page n instead of waiting. The first page is requested here: that is when rest_api reads
    the incremental state into the query, which must happen in dlt's extract context.
    """
    try:
        first = next(pages)
    except StopIteration:
        return
    ahead: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        ahead.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put(_DONE)
        except BaseException as exc:  # re-raised in the consumer, where dlt handles it
            ahead.put(exc)

    fetcher = threading.Thread(target=fetch, name="rest-prefetch", daemon=True)
    fetcher.start()
    try:
        yield first
        while (page := ahead.get()) is not _DONE:
            if isinstance(page, BaseException):
                raise page
            yield page
    finally:
        stop.set()
        fetcher.join(timeout=5)
