"""E-commerce (Shopify-like) resources and their record contracts (SOURCES.md)."""

from ingestion.contracts import Contract, boolean, deletion_flag, integer, money, text, timestamp

API_VERSION = "2024-10"
PAGE_SIZE = 250  # the API maximum
DEFAULT_LAG_DAYS = 3.0

LINE_ITEM = Contract(
    "orders__line_items",
    ("id",),
    (
        text("id", required=True),
        text("sku"),
        text("product_id"),
        integer("quantity", min_value=0),
        money("price", min_value=0),
    ),
)
REFUND = Contract(
    "orders__refunds",
    ("id",),
    (
        text("id", required=True),
        timestamp("created_at"),
        money("amount", min_value=0),
        text("reason"),
    ),
)

CONTRACTS = {
    "customers": Contract(
        "customers",
        ("id",),
        (
            text("id", required=True),
            text("email"),
            text("phone"),
            text("first_name"),
            text("last_name"),
            boolean("accepts_marketing"),
            timestamp("created_at"),
            timestamp("updated_at", required=True),
            text("state"),
            # A customer the shop reports `deleted` (a deletion request) is gone for good:
            # the merge removes it from raw instead of keeping a tombstone.
            deletion_flag("is_deleted", "state", "deleted"),
        ),
    ),
    "orders": Contract(
        "orders",
        ("id",),
        (
            text("id", required=True),
            text("name"),
            text("customer_id"),
            text("email"),
            text("phone"),
            text("source_name"),
            text("fulfillment_type"),
            text("location_id"),
            money("subtotal_price"),
            money("total_discounts"),
            money("total_shipping"),
            money("total_price", required=True, min_value=0),
            text("currency"),
            text("financial_status"),
            text("landing_anonymous_id"),
            timestamp("created_at", required=True),
            timestamp("updated_at", required=True),
            timestamp("cancelled_at"),
        ),
        nested={"line_items": LINE_ITEM, "refunds": REFUND},
    ),
    "checkouts": Contract(
        "checkouts",
        ("id",),
        (
            text("id", required=True),
            text("customer_id"),
            text("email"),
            text("phone"),
            text("source_name"),
            money("total_price"),
            timestamp("created_at"),
            timestamp("updated_at", required=True),
            text("recovered_order_id"),
        ),
    ),
    "products": Contract(
        "products",
        ("id",),
        (
            text("id", required=True),
            text("sku"),
            text("title"),
            text("category"),
            money("price"),
            timestamp("created_at"),
            timestamp("updated_at", required=True),
        ),
    ),
    "inventory_levels": Contract(
        "inventory_levels",
        ("sku", "location_id"),
        (
            text("sku", required=True),
            text("location_id", required=True),
            integer("available"),
            timestamp("updated_at", required=True),
        ),
    ),
}

RESOURCES = tuple(CONTRACTS)
# Event-shaped resources, re-extracted by a backfill window on their ``created_at``; the
# others are reference data a window run leaves alone.
WINDOW_RESOURCES = ("orders", "checkouts")
