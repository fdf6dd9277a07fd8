"""Shared habits of the REST sources: a retrying HTTP session, the incremental window, and
the contract step on every resource of a ``rest_api`` source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlt.sources.helpers.requests import Client
from requests import Session

from ingestion.contracts import Contract
from ingestion.quarantine import with_validation

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
        with_validation(resource, contract, cursor_guard="updated_at", as_arrow=True)
    return resources
