"""dbt models as Dagster assets, dbt tests as asset checks."""

import dagster as dg

from orchestration.defs.transform.assets import omni_dbt_assets
from orchestration.lib.resources import dbt_resource

defs = dg.Definitions(assets=[omni_dbt_assets], resources={"dbt": dbt_resource})
