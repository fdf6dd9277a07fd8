"""Shared habits of the REST sources: a retrying HTTP session, the incremental window, and
the contract step on every resource of a ``rest_api`` source."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dlt.sources.helpers.requests import Client
from requests import Session

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


def http_session() -> Session:
    client = Client(
        raise_for_status=False,
        request_max_attempts=MAX_ATTEMPTS,
        request_backoff_factor=BACKOFF_FACTOR,
        request_max_retry_delay=MAX_RETRY_DELAY_S,
        respect_retry_after_header=True,
    )
    return client.session


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
        "endpoint": endpoint,
    }
    return config


def validate_resources(resources: list[Any], contracts: Mapping[str, Contract]) -> list[Any]:
    for resource in resources:
        contract = contracts[resource.name]
        batched_pages(resource)
        with_validation(resource, contract, cursor_guard="updated_at", as_arrow=True)
    return resources


def batched_pages(resource: Any, records: int | None = None) -> Any:
    """Hand the pages of a ``rest_api`` resource on in batches of up to ``records`` records.

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
        for page in head():
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
