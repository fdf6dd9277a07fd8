"""dlt multi-assets per source system; each dlt resource is one asset ``raw_<system>/<table>``.

Event-shaped resources (``WINDOW_RESOURCES`` of ``EVENT_SYSTEMS``: clickstream, messaging,
POS tickets, online orders, spend) are daily-partitioned: a run over a partition range
re-extracts exactly those days (``make_source(..., window=)``). A system that also holds
reference data (POS stores and inventory, shop customers and products) gets a second,
unpartitioned multi-asset for it, ``ingest_<system>`` beside ``ingest_<system>_events``.

Definitions are built from a source that needs no server. At run time a fresh source is
configured against the real endpoints or a sandbox server started for the step and loaded
through dagster-dlt, inside the same steps as ``run_system`` (``system_load``: a killed
run's pending package first, empty tables appended into, then the audit in ``raw_audit``
and the empty raw tables no load has created).
"""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion import paths
from ingestion.pipelines import SYSTEMS, dataset_name, make_pipeline, make_source, system_load
from orchestration.defs.schedules.partitions import (
    backfill_window,
    daily_partitions,
    describe,
    single_run,
)
from orchestration.lib.dlt_translator import OmniDltTranslator
from orchestration.lib.source_systems import IngestPart, SourceSystemsResource, ingest_parts


class IngestConfig(dg.Config):
    full_refresh: bool = False


def _asset_key(translator: OmniDltTranslator, resource, pipeline) -> dg.AssetKey:
    return translator.get_asset_spec(
        DltResourceTranslatorData(resource=resource, pipeline=pipeline)
    ).key


def _source(part: IngestPart, sources_dir, endpoints=None, window=None):
    source = make_source(part.system, sources_dir, endpoints=endpoints, window=window)
    return source.with_resources(*part.resources) if part.split and window is None else source


def _refresh(part: IngestPart, full_refresh: bool) -> dict:
    if not full_refresh:
        return {}
    # drop_sources would also drop the tables and state of the system's other part.
    return {"refresh": "drop_resources" if part.split else "drop_sources"}


def build_part_assets(part: IngestPart) -> dg.AssetsDefinition:
    system = part.system
    translator = OmniDltTranslator()

    @dlt_assets(
        dlt_source=_source(part, paths.sources_dir()),
        dlt_pipeline=make_pipeline(system, paths.warehouse_path()),
        name=part.op_name,
        dagster_dlt_translator=translator,
        partitions_def=daily_partitions if part.partitioned else None,
        backfill_policy=single_run if part.partitioned else None,
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        dlt: DagsterDltResource,
        source_systems: SourceSystemsResource,
        config: IngestConfig,
    ):
        sources_dir = source_systems.resolved_sources_dir()
        pipeline = make_pipeline(system, paths.warehouse_path())
        # Reference data has no days to re-read: in a backfill run it loads incrementally.
        window = backfill_window(context) if part.partitioned else None
        if window and config.full_refresh:
            raise dg.Failure(
                description=f"{system}: a backfill of {describe(window)} re-extracts those "
                "days only; it cannot be a full refresh"
            )
        refresh = _refresh(part, config.full_refresh)
        context.log.info(
            f"Loading {system} ({', '.join(part.resources)}) from {sources_dir} into "
            f"{paths.warehouse_path()} dataset {dataset_name(system)}"
            + (" (full refresh)" if refresh else "")
            + (f": backfill of the business days {describe(window)}" if window else "")
        )
        with source_systems.endpoints(system, context.log) as endpoints:
            source = _source(part, sources_dir, endpoints=endpoints, window=window)
            resources = [
                name
                for name, resource in source.resources.items()
                if _asset_key(translator, resource, pipeline) in context.selected_asset_keys
            ]
            # The same steps as `run_system` around the run: a killed run's pending package
            # first, empty tables appended into, then the audit and the empty raw tables.
            with system_load(
                system,
                pipeline,
                source,
                paths.warehouse_path(),
                full_refresh=bool(refresh),
                window=window,
                resources=resources,
            ) as load:
                yield from dlt.run(
                    context=context,
                    dlt_source=source,
                    dlt_pipeline=pipeline,
                    dagster_dlt_translator=translator,
                    **refresh,
                )
        rows = load.rows
        context.log.info(
            f"{system}: "
            + ", ".join(
                f"{r['resource']} received {r['received']} = loaded {r['loaded']} + "
                f"quarantined {r['quarantined']}"
                + (f" + suppressed {r['suppressed']}" if r.get("suppressed") else "")
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


# Per system, the multi-assets that load it (one, or reference + events).
ingestion_assets: dict[str, list[dg.AssetsDefinition]] = {
    system: [build_part_assets(part) for part in ingest_parts(system)] for system in SYSTEMS
}
