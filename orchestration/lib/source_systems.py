"""Where the source systems are: real endpoints when configured, otherwise the sandbox.

The REST connectors need a server to talk to. With no real endpoint configured the sandbox's
own HTTP server is started for the duration of the step, over the sandbox folder
(``$OMNI_DATA_DIR/sources`` unless the run says otherwise).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from ingestion import paths
from ingestion.pipelines import EVENT_SYSTEMS, RESOURCES, WINDOW_RESOURCES, dataset_name
from orchestration.lib.asset_keys import raw_table_key


class SourceSystemsResource(dg.ConfigurableResource):
    """Run-time location of the source systems (``omni run --sources DIR`` sets ``sources_dir``)."""

    sources_dir: str = ""

    def resolved_sources_dir(self) -> Path:
        return Path(self.sources_dir).resolve() if self.sources_dir else paths.sources_dir()

    @contextlib.contextmanager
    def endpoints(self, system: str, log) -> Iterator[dict]:
        """Endpoints for ``make_source``: REST systems get the configured API or a sandbox
        server that lives as long as the context; file and SQL systems need none."""
        from ingestion.pipelines import REST_SYSTEMS, sandbox_endpoints

        sources = self.resolved_sources_dir()
        if system not in REST_SYSTEMS:
            yield {}
            return
        with sandbox_endpoints(sources) as endpoints:
            log.info(f"{system} API at {endpoints[system]['base_url']}")
            yield endpoints


@dataclass(frozen=True)
class IngestPart:
    """The resources of one system that one multi-asset loads."""

    system: str
    resources: tuple[str, ...]
    partitioned: bool

    @property
    def split(self) -> bool:
        """True when the system's other resources are loaded by another multi-asset."""
        return self.resources != RESOURCES[self.system]

    @property
    def op_name(self) -> str:
        return ingest_op_name(self.system) + ("_events" if self.partitioned and self.split else "")

    @property
    def raw_keys(self) -> list[dg.AssetKey]:
        return [raw_table_key(dataset_name(self.system), name) for name in self.resources]


def ingest_op_name(system: str) -> str:
    return f"ingest_{system}"


def ingest_parts(system: str) -> list[IngestPart]:
    """How one system is loaded: its reference resources (unpartitioned) and its
    event-shaped ones (daily partitions, re-extracted by day in a backfill)."""
    events = WINDOW_RESOURCES.get(system, ()) if system in EVENT_SYSTEMS else ()
    reference = tuple(r for r in RESOURCES[system] if r not in events)
    parts = [IngestPart(system, reference, partitioned=False)] if reference else []
    if events:
        parts.append(IngestPart(system, tuple(events), partitioned=True))
    return parts
