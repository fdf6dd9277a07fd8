"""Marketing spend source: daily spend, impressions and clicks per channel and campaign.

Config: ``SOURCES__MARKETING__BUCKET_URL`` (any fsspec URL); defaults to ``DIR/marketing``.
"""

from __future__ import annotations

import dlt

from ingestion.files import read_csv_arrow
from ingestion.filesource import file_drop
from ingestion.marketing.settings import FILE_GLOB, RESOURCES, SPEND
from ingestion.window import Window

__all__ = ["RESOURCES", "marketing"]


@dlt.source(name="marketing", max_table_nesting=0)
def marketing(
    bucket_url: str = dlt.config.value, file_glob: str = FILE_GLOB, window: Window | None = None
):
    return file_drop(bucket_url, file_glob, SPEND, read_csv_arrow, window, upsert=True)
