"""Clickstream source: web and app events from ``dt=YYYY-MM-DD/events-<n>.jsonl.gz`` drops.

Config: ``SOURCES__CLICKSTREAM__BUCKET_URL`` (any fsspec URL: ``file://``, ``s3://``, ...);
defaults to the sandbox's ``DIR/clickstream``. Only new or changed files are read; late
events arrive in later partitions and merge on ``event_id``.
"""

from __future__ import annotations

import dlt

from ingestion.clickstream.settings import EVENTS, FILE_GLOB, RESOURCES
from ingestion.files import read_jsonl_arrow
from ingestion.filesource import file_drop
from ingestion.window import Window

__all__ = ["RESOURCES", "clickstream"]


@dlt.source(name="clickstream", max_table_nesting=0)
def clickstream(
    bucket_url: str = dlt.config.value, file_glob: str = FILE_GLOB, window: Window | None = None
):
    return file_drop(bucket_url, file_glob, EVENTS, read_jsonl_arrow, window, upsert=True)
