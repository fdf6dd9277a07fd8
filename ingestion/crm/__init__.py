"""CRM source (HubSpot-like REST API), declared with dlt's ``rest_api``.

Config (env or ``.dlt/config.toml`` / ``.dlt/secrets.toml``): ``SOURCES__CRM__BASE_URL``,
``SOURCES__CRM__ACCESS_TOKEN`` (bearer), optional ``SOURCES__CRM__LAG_DAYS``.
"""

from __future__ import annotations

import dlt
from dlt.sources.rest_api import rest_api_resources

from ingestion.crm.settings import API_PATH, CONTRACTS, DEFAULT_LAG_DAYS, PAGE_SIZE, RESOURCES
from ingestion.rest import (
    data_selector,
    http_session,
    incremental_updated_at,
    resource_config,
    validate_resources,
)

__all__ = ["RESOURCES", "crm"]


@dlt.source(name="crm", max_table_nesting=0)
def crm(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    lag_days: float = DEFAULT_LAG_DAYS,
    page_size: int = PAGE_SIZE,
):
    """Contacts, loyalty accounts and campaigns, incrementally on ``updated_at``."""
    config = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": access_token},
            "paginator": {
                "type": "cursor",
                "cursor_path": "paging.next.after",
                "cursor_param": "after",
            },
            "session": http_session(base_url),
        },
        "resources": [
            resource_config(
                contract,
                {
                    "path": f"{API_PATH}/{name}",
                    "params": {"limit": page_size},
                    "data_selector": data_selector("results"),
                    "incremental": incremental_updated_at("updated_since", lag_days),
                },
            )
            for name, contract in CONTRACTS.items()
        ],
    }
    return validate_resources(rest_api_resources(config), CONTRACTS)
