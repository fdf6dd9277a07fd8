"""Messaging source: service conversations (messages as a child table) and marketing
delivery events, from ``dt=YYYY-MM-DD/{conversations,deliveries}-<n>.jsonl.gz`` drops.

Config: ``SOURCES__MESSAGING__BUCKET_URL`` (any fsspec URL); defaults to ``DIR/messaging``.
"""

from __future__ import annotations

import dlt

from ingestion.files import read_jsonl_arrow, read_jsonl_nested
from ingestion.filesource import file_drop
from ingestion.messaging.settings import (
    CONVERSATIONS,
    CONVERSATIONS_GLOB,
    DELIVERIES,
    DELIVERIES_GLOB,
    RESOURCES,
)
from ingestion.window import Window

__all__ = ["RESOURCES", "messaging"]


@dlt.source(name="messaging", max_table_nesting=1)
def messaging(bucket_url: str = dlt.config.value, window: Window | None = None):
    return (
        # Conversations nest their messages: two Arrow tables, linked as dlt links nested rows.
        file_drop(bucket_url, CONVERSATIONS_GLOB, CONVERSATIONS, read_jsonl_nested, window),
        file_drop(bucket_url, DELIVERIES_GLOB, DELIVERIES, read_jsonl_arrow, window, upsert=True),
    )
