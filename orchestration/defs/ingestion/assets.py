"""One ``@dlt_assets`` per source system; each dlt resource is one asset ``raw_<system>/<table>``.

Definitions are built from a source that needs no server. At run time a fresh source is
configured against the real endpoints or a sandbox server started for the step, loaded
through dagster-dlt, and the load is reconciled into ``raw_audit.load_reconciliation``.
"""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion import paths
from ingestion.pipelines import (
    SYSTEMS,
    create_empty_tables,
    dataset_name,
    default_pipelines_dir,
    make_pipeline,
    make_source,
)
from ingestion.reconciliation import reconcile, record
from orchestration.lib.dlt_translator import OmniDltTranslator
from orchestration.lib.source_systems import SourceSystemsResource


class IngestConfig(dg.Config):
    full_refresh: bool = False


def ingest_op_name(system: str) -> str:
    return f"ingest_{system}"


def _asset_key(translator: OmniDltTranslator, resource, pipeline) -> dg.AssetKey:
    return translator.get_asset_spec(
        DltResourceTranslatorData(resource=resource, pipeline=pipeline)
    ).key


def build_system_assets(system: str) -> dg.AssetsDefinition:
    translator = OmniDltTranslator()

    @dlt_assets(
        dlt_source=make_source(system, paths.sources_dir()),
        dlt_pipeline=make_pipeline(system, paths.warehouse_path()),
        name=ingest_op_name(system),
        dagster_dlt_translator=translator,
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        dlt: DagsterDltResource,
        source_systems: SourceSystemsResource,
        config: IngestConfig,
    ):
        sources_dir = source_systems.resolved_sources_dir()
        pipeline = make_pipeline(system, paths.warehouse_path())
        refresh = {"refresh": "drop_sources"} if config.full_refresh else {}
        context.log.info(
            f"Loading {system} from {sources_dir} into {paths.warehouse_path()} "
            f"dataset {dataset_name(system)}" + (" (full refresh)" if refresh else "")
        )
        with source_systems.endpoints(system, context.log) as endpoints:
            source = make_source(system, sources_dir, endpoints=endpoints)
            yield from dlt.run(
                context=context,
                dlt_source=source,
                dlt_pipeline=pipeline,
                dagster_dlt_translator=translator,
                **refresh,
            )
        resources = [
            name
            for name, resource in source.resources.items()
            if _asset_key(translator, resource, pipeline) in context.selected_asset_keys
        ]
        rows = reconcile(system, pipeline, resources)
        record(rows, paths.warehouse_path(), default_pipelines_dir(paths.warehouse_path()))
        create_empty_tables(system, pipeline, source, resources)
        context.log.info(
            f"{system}: "
            + ", ".join(
                f"{r['resource']} received {r['received']} = loaded {r['loaded']} + "
                f"quarantined {r['quarantined']}"
                for r in rows
            )
        )
        for row in rows:
            if row["quarantined"]:
                context.log.warning(
                    f"{system}.{row['resource']}: {row['quarantined']} record(s) quarantined in "
                    f"{dataset_name(system)}._quarantine (load {row['load_id']})"
                )

    return _ingest


ingestion_assets = {system: build_system_assets(system) for system in SYSTEMS}
