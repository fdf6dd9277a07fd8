"""Data quality beyond dbt tests: Great Expectations suites on the marts."""

import dagster as dg

from orchestration.defs.quality.checks import gx_checks

defs = dg.Definitions(asset_checks=gx_checks)
