"""Publication of the marts to the file BI tools read."""

import dagster as dg

from orchestration.defs.publish.assets import published_marts

defs = dg.Definitions(assets=[published_marts])
