"""Data quality beyond dbt tests: Great Expectations suites and identity-graph health."""

import dagster as dg

from orchestration.defs.quality.checks import gx_checks
from orchestration.defs.quality.identity import identity_checks

defs = dg.Definitions(asset_checks=[*gx_checks, *identity_checks])
