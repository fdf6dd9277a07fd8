"""Where the source systems are: real endpoints when configured, otherwise the sandbox.

The REST connectors need a server to talk to. With no real endpoint configured the sandbox's
own HTTP server is started for the duration of the step, over the sandbox folder
(``$OMNI_DATA_DIR/sources`` unless the run says otherwise).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from ingestion import paths


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
