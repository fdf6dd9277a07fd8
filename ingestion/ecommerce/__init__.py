"""E-commerce source (Shopify-like Admin REST API), declared with dlt's ``rest_api``.

Config: ``SOURCES__ECOMMERCE__BASE_URL`` (the shop root, e.g. ``https://shop.myshopify.com``),
``SOURCES__ECOMMERCE__ACCESS_TOKEN`` (sent as ``X-Shopify-Access-Token``), optional
``SOURCES__ECOMMERCE__API_VERSION`` and ``SOURCES__ECOMMERCE__LAG_DAYS``.
"""

from __future__ import annotations

import dlt
from dlt.sources.rest_api import rest_api_resources

from ingestion.ecommerce.settings import (
    API_VERSION,
    CONTRACTS,
    DEFAULT_LAG_DAYS,
    PAGE_SIZE,
    RESOURCES,
    WINDOW_RESOURCES,
)
from ingestion.rest import (
    data_selector,
    http_session,
    incremental_created_in,
    incremental_updated_at,
    resource_config,
    validate_resources,
)
from ingestion.window import Window

__all__ = ["RESOURCES", "ecommerce"]


@dlt.source(name="ecommerce", max_table_nesting=1)
def ecommerce(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    api_version: str = API_VERSION,
    lag_days: float = DEFAULT_LAG_DAYS,
    page_size: int = PAGE_SIZE,
    window: Window | None = None,
):
    """Customers, orders (line items and refunds as child tables), abandoned checkouts,
    products and inventory levels, incrementally on ``updated_at``.

    With a ``window``: only orders and checkouts created in its business days, whatever
    their ``updated_at``, without touching the incremental state (see ``window.py``).
    """
    if window:
        names = WINDOW_RESOURCES
        incremental = incremental_created_in(window, "created_at_min", "created_at_max")
    else:
        names = RESOURCES
        incremental = incremental_updated_at("updated_at_min", lag_days)
    config = {
        "client": {
            "base_url": f"{base_url.rstrip('/')}/admin/api/{api_version}/",
            "auth": {
                "type": "api_key",
                "name": "X-Shopify-Access-Token",
                "api_key": access_token,
                "location": "header",
            },
            "paginator": {"type": "header_link"},
            "session": http_session(base_url),
        },
        "resources": [
            resource_config(
                contract,
                {
                    "path": f"{name}.json",
                    "params": {"limit": page_size},
                    "data_selector": data_selector(name),
                    "incremental": dict(incremental),
                },
            )
            for name, contract in CONTRACTS.items()
            if name in names
        ],
    }
    return validate_resources(rest_api_resources(config), CONTRACTS, guard_cursor=window is None)
