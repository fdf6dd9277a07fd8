"""Clickstream events (SOURCES.md, clickstream): gzip JSONL in ``dt=`` partitions."""

from ingestion.contracts import Contract, text, timestamp

FILE_GLOB = "dt=*/events-*.jsonl*"

EVENTS = Contract(
    "events",
    ("event_id",),
    (
        text("event_id", required=True),
        text("anonymous_id"),
        text("user_id"),
        text("platform"),
        text("event_type", required=True),
        timestamp("occurred_at", required=True),
        text("page_url"),
        text("sku"),
        text("order_id"),
        text("utm_source"),
        text("utm_medium"),
        text("utm_campaign"),
    ),
)

CONTRACTS = {c.resource: c for c in (EVENTS,)}
RESOURCES = tuple(CONTRACTS)
