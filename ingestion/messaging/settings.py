"""Messaging (SOURCES.md, messaging): service conversations and marketing deliveries."""

from ingestion.contracts import Contract, integer, text, timestamp

CONVERSATIONS_GLOB = "dt=*/conversations-*.jsonl*"
DELIVERIES_GLOB = "dt=*/deliveries-*.jsonl*"

MESSAGE = Contract(
    "conversations__messages",
    ("message_id",),
    (
        text("message_id", required=True),
        text("sender"),
        timestamp("sent_at"),
        # Call transcripts are long; anything beyond this is not a conversation.
        text("body", max_chars=200_000),
    ),
)

CONVERSATIONS = Contract(
    "conversations",
    ("conversation_id",),
    (
        text("conversation_id", required=True),
        text("channel", required=True),
        text("customer_email"),
        text("customer_phone"),
        text("customer_handle"),
        text("topic"),
        timestamp("started_at", required=True),
        timestamp("first_response_at"),
        timestamp("resolved_at"),
        integer("csat"),
    ),
    nested={"messages": MESSAGE},
)

DELIVERIES = Contract(
    "deliveries",
    ("event_id",),
    (
        text("event_id", required=True),
        text("delivery_id"),
        text("campaign_id"),
        text("channel", required=True),
        text("contact_id"),
        text("recipient"),
        text("event_type", required=True),
        timestamp("occurred_at", required=True),
    ),
)

CONTRACTS = {
    c.resource: c
    for c in (
        CONVERSATIONS,
        DELIVERIES,
    )
}
RESOURCES = tuple(CONTRACTS)
