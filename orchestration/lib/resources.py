"""The resources every domain shares, one instance each so ``Definitions.merge`` accepts them."""

from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from orchestration.lib.dbt_project import dbt_executable, omni_dbt_project
from orchestration.lib.source_systems import SourceSystemsResource

dlt_resource = DagsterDltResource()
source_systems = SourceSystemsResource()
dbt_resource = DbtCliResource(project_dir=omni_dbt_project(), dbt_executable=dbt_executable())
