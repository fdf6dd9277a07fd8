"""The registry the orchestration layer uses: one dlt source and pipeline per system.

``run_ingestion`` is the whole ingestion stage; Dagster can instead build assets from
``make_source`` / ``make_pipeline`` and call ``record_run`` after each pipeline run.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
import duckdb

from ingestion import clickstream, crm, ecommerce, marketing, messaging, pos
from ingestion.clickstream import settings as clickstream_settings
from ingestion.contracts import Contract
from ingestion.crm import settings as crm_settings
from ingestion.destination import duckdb_destination, warehouse_connection
from ingestion.ecommerce import settings as ecommerce_settings
from ingestion.empty_tables import materialize_empty_tables
from ingestion.filesource import local_bucket
from ingestion.load_keys import append_into_empty_tables, drop_restaged_duplicates
from ingestion.marketing import settings as marketing_settings
from ingestion.messaging import settings as messaging_settings
from ingestion.nested_arrow import reload_previous_layout
from ingestion.pos import settings as pos_settings
from ingestion.privacy import suppress_erased
from ingestion.reconciliation import reconcile, record
from ingestion.references import REFERENCE_FLAGS_COLUMNS, REFERENCE_FLAGS_TABLE, unknown_skus
from ingestion.row_ids import drop_row_ids
from ingestion.schema_changes import SCHEMA_CHANGES_COLUMNS, SCHEMA_CHANGES_TABLE, new_columns
from ingestion.window import Window, check_window, describe

log = logging.getLogger(__name__)

SYSTEMS: tuple[str, ...] = ("crm", "ecommerce", "pos", "clickstream", "messaging", "marketing")
REST_SYSTEMS: tuple[str, ...] = ("crm", "ecommerce")
FILE_SYSTEMS: tuple[str, ...] = ("clickstream", "messaging", "marketing")
# Systems with event-shaped records, which a backfill window re-extracts by business day
# (make_source(..., window=)); CRM holds only reference data (contacts, loyalty, campaigns).
EVENT_SYSTEMS: tuple[str, ...] = ("ecommerce", "pos", "clickstream", "messaging", "marketing")

# Record contract of every resource (primary key, typed columns): SOURCES.md in code.
CONTRACTS: dict[str, dict[str, Contract]] = {
    "crm": crm_settings.CONTRACTS,
    "ecommerce": ecommerce_settings.CONTRACTS,
    "pos": pos_settings.CONTRACTS,
    "clickstream": clickstream_settings.CONTRACTS,
    "messaging": messaging_settings.CONTRACTS,
    "marketing": marketing_settings.CONTRACTS,
}
RESOURCES: dict[str, tuple[str, ...]] = {s: tuple(c) for s, c in CONTRACTS.items()}
# Resources whose rows reach dlt as Arrow tables without dlt's row id (REST pages add one,
# see arrow_pages.py): their raw tables have no `_dlt_id`, so their empty ones must not either.
ARROW_WITHOUT_ROW_ID: dict[str, tuple[str, ...]] = {
    "pos": RESOURCES["pos"],
    "clickstream": ("events",),
    "messaging": ("deliveries",),
    "marketing": ("spend",),
}

# What a window run of each event system reads: its event-shaped resources only.
WINDOW_RESOURCES: dict[str, tuple[str, ...]] = {
    "ecommerce": ecommerce_settings.WINDOW_RESOURCES,
    "pos": pos_settings.WINDOW_RESOURCES,
    "clickstream": RESOURCES["clickstream"],
    "messaging": RESOURCES["messaging"],
    "marketing": RESOURCES["marketing"],
}

_SOURCES: dict[str, Callable[..., Any]] = {
    "crm": crm.crm,
    "ecommerce": ecommerce.ecommerce,
    "pos": pos.pos,
    "clickstream": clickstream.clickstream,
    "messaging": messaging.messaging,
    "marketing": marketing.marketing,
}

# Used only to build a REST source's definition when nothing is configured and no sandbox
# runs (e.g. for Dagster asset definitions); extracting from it fails loudly.
UNSTARTED_SANDBOX = {"base_url": "http://sandbox.not-started.invalid", "access_token": "none"}


def _check(system: str) -> None:
    if system not in SYSTEMS:
        raise ValueError(f"unknown source system {system!r}; expected one of {SYSTEMS}")


def dataset_name(system: str) -> str:
    _check(system)
    return f"raw_{system}"


def configured_endpoint(system: str) -> dict[str, str] | None:
    """A real REST endpoint from dlt config/secrets (env ``SOURCES__<SYSTEM>__BASE_URL`` and
    ``SOURCES__<SYSTEM>__ACCESS_TOKEN``, or ``.dlt/*.toml``), or None."""
    base_url = dlt.config.get(f"sources.{system}.base_url", str)
    if not base_url:
        return None
    token = dlt.secrets.get(f"sources.{system}.access_token", str)
    return {"base_url": base_url, "access_token": token or ""}


def _configured(key: str) -> str | None:
    value = dlt.config.get(key, str)
    return value or None


def make_source(
    system: str,
    sources_dir: Path,
    endpoints: Mapping[str, Any] | None = None,
    window: Window | None = None,
):
    """The configured dlt source of ``system``.

    Real endpoints/URLs from dlt config win; otherwise REST systems use ``endpoints``
    (from ``sandbox_endpoints``) and file/SQL systems read the sandbox under
    ``sources_dir``. Resource and table names never depend on a running server.

    ``window=(start, end)`` (business days in Europe/Madrid, end exclusive; systems of
    ``EVENT_SYSTEMS`` only) re-extracts exactly the event-shaped records of those days
    (``WINDOW_RESOURCES``) without reading or moving the incremental state; rows still
    merge on their keys, so a window run repeated changes nothing.
    """
    _check(system)
    if window is not None:
        window = window_of(system, window)
    source = load_as_parquet(_configured_source(system, sources_dir, endpoints, window))
    return suppress_erased(system, source)  # drop records of people erased by `omni forget`


def window_of(system: str, window: Any) -> Window:
    """``window`` checked for ``system``: a pair of days, start before end, event system."""
    if system not in EVENT_SYSTEMS:
        raise ValueError(
            f"{system} has no backfill window: it holds reference data only "
            f"(systems with one: {', '.join(EVENT_SYSTEMS)})"
        )
    return check_window(window)


def resources_of(system: str, window: Window | None = None) -> tuple[str, ...]:
    """The resources a run of ``system`` reads: all, or a window run's event-shaped ones."""
    _check(system)
    return WINDOW_RESOURCES[system] if window else RESOURCES[system]


def _configured_source(
    system: str,
    sources_dir: Path,
    endpoints: Mapping[str, Any] | None,
    window: Window | None = None,
):
    factory = _SOURCES[system]
    # Only event sources take a window; the others keep their signature as it was.
    extra = {"window": window} if window else {}
    if system in REST_SYSTEMS:
        endpoint = (endpoints or {}).get(system) or configured_endpoint(system)
        endpoint = endpoint or UNSTARTED_SANDBOX
        return factory(
            base_url=endpoint["base_url"], access_token=endpoint["access_token"], **extra
        )
    if system == "pos":
        default = f"sqlite:///{(Path(sources_dir) / 'pos' / 'pos.sqlite').resolve()}"
        secret = dlt.secrets.get("sources.pos.credentials", str)
        return factory(credentials=secret or default, **extra)
    bucket = _configured(f"sources.{system}.bucket_url") or local_bucket(sources_dir, system)
    return factory(bucket_url=bucket, **extra)


def load_as_parquet(source: Any) -> Any:
    """Hand every table to DuckDB as Parquet.

    DuckDB's default in dlt is ``insert_values`` (SQL INSERT text), which for the dict-based
    resources (REST pages, conversations, spend) took longer to load than to fetch; Parquet
    is read by DuckDB column-wise. Set on the source, so Dagster's runs get it too.
    """
    for resource in source.resources.values():
        resource.apply_hints(file_format="parquet")
    return source


# Raw tables have no meaningful row order (everything downstream sorts or aggregates), and
# keeping insertion order made DuckDB's merge (staging insert + dedup) of 2.75M deliveries
# ~1.5x slower; which version of a key wins is decided by the merge's dedup_sort instead.
DUCKDB_LOAD_SETTINGS = {"preserve_insertion_order": False}


def default_pipelines_dir(warehouse_path: Path) -> Path:
    # Pipeline state belongs with its warehouse: in the default layout this is
    # OMNI_DATA_DIR/dlt_pipelines, so each data dir keeps its own cursors.
    return Path(warehouse_path).resolve().parent / "dlt_pipelines"


def make_pipeline(
    system: str,
    warehouse_path: Path,
    pipelines_dir: Path | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> dlt.Pipeline:
    """The dlt pipeline of ``system``; it loads through ``connection`` (an open warehouse
    connection, ``destination.warehouse_connection``) if given, else opens the warehouse
    for each step."""
    _check(system)
    # Also in .dlt/config.toml; set here so it holds when run from another directory.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    # Arrow batches of one resource may differ (a new upstream column in one file): merge
    # them losslessly instead of failing the load.
    dlt.config["data_writer.arrow_concat_promote_options"] = "default"
    # Extracted and normalised files are read back once, locally: gzip costs CPU for nothing.
    dlt.config["data_writer.disable_compression"] = True
    pipelines_dir = Path(pipelines_dir or default_pipelines_dir(warehouse_path))
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"omni_{system}",
        destination=duckdb_destination(warehouse_path, dict(DUCKDB_LOAD_SETTINGS), connection),
        dataset_name=dataset_name(system),
        pipelines_dir=str(pipelines_dir),
    )


def _fault_rate() -> float:
    return float(os.environ.get("OMNI_SANDBOX_FAULT_RATE", "0") or 0)


@contextmanager
def sandbox_endpoints(
    sources_dir: Path, fault_rate: float | None = None
) -> Iterator[dict[str, dict[str, str]]]:
    """Endpoints of the REST systems: the configured ones, else a sandbox server serving
    ``sources_dir`` for as long as the context is open."""
    configured = {system: configured_endpoint(system) for system in REST_SYSTEMS}
    if all(configured.values()):
        yield configured  # type: ignore[misc]
        return
    from ingestion.sandbox import SandboxServer
    from ingestion.sandbox.server import CRM_TOKEN, SHOP_TOKEN

    rate = _fault_rate() if fault_rate is None else fault_rate
    tokens = {"crm": CRM_TOKEN, "ecommerce": SHOP_TOKEN}
    with SandboxServer(Path(sources_dir), port=0, fault_rate=rate) as server:
        endpoints = {}
        for system in REST_SYSTEMS:
            if configured[system]:
                endpoints[system] = configured[system]
                continue
            log.info(
                "No %s endpoint configured: using the sandbox API at %s (fault rate %.2f)",
                system,
                server.base_url,
                rate,
            )
            endpoints[system] = {"base_url": server.base_url, "access_token": tokens[system]}
        yield endpoints


def record_run(
    system: str,
    pipeline: dlt.Pipeline,
    warehouse_path: Path,
    pipelines_dir: Path | None = None,
    window: Window | None = None,
    resources: list[str] | tuple[str, ...] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> list[dict[str, Any]]:
    """Audit the pipeline's last run into ``raw_audit``: its reconciliation
    (``load_reconciliation``), the new upstream columns it loaded (``schema_changes``) and
    the loaded records naming an unknown SKU (``reference_flags``). Pass the run's
    ``window``, if it had one, or the ``resources`` it read (a Dagster asset subset), so
    only those are reconciled; and the run's warehouse ``connection``, if it had one."""
    rows = reconcile(system, pipeline, resources or resources_of(system, window))
    load_id = next((r["load_id"] for r in rows if r["load_id"]), None)
    extra = {
        SCHEMA_CHANGES_TABLE: (
            new_columns(system, pipeline, CONTRACTS[system]),
            SCHEMA_CHANGES_COLUMNS,
        ),
        REFERENCE_FLAGS_TABLE: (unknown_skus(system, pipeline, load_id), REFERENCE_FLAGS_COLUMNS),
    }
    pipelines_dir = Path(pipelines_dir or default_pipelines_dir(warehouse_path))
    record(rows, warehouse_path, pipelines_dir, extra, connection)
    return rows


def create_empty_tables(
    system: str, pipeline: dlt.Pipeline, source: Any, resources: list[str] | None = None
) -> list[str]:
    """Create, empty, the contract tables of ``system`` the source sent no rows for yet (all
    of them, or those of ``resources``), so dbt's sources always exist. Call it after
    ``record_run`` (or ``reconcile``), which read the source's own run."""
    return materialize_empty_tables(
        system,
        pipeline,
        source,
        CONTRACTS[system],
        resources,
        arrow_resources=ARROW_WITHOUT_ROW_ID.get(system, ()),
    )


def finish_interrupted(system: str, pipeline: dlt.Pipeline) -> None:
    """Load what a killed run had already extracted before extracting anything new.

    dlt commits a run's incremental state together with its load package, so a package that
    was extracted but never loaded must be loaded now or its records would be skipped
    (a gap); merge on the primary keys makes loading it again harmless (no duplicates).
    A run killed during extract left no committed package and no new state: it is simply
    extracted again.
    """
    if not pipeline.has_pending_data:
        return
    pending = [*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()]
    log.warning(
        "%s: an earlier run was interrupted; loading its pending load package(s) %s first",
        system,
        ", ".join(pending),
    )
    pipeline.run()
    drop_restaged_duplicates(pipeline, pending)


# The garbage collector's first threshold while a pipeline runs (Python's default: 700).
RUN_GC_THRESHOLD = 50_000
_paced = threading.Lock()
_pacing = {"runs": 0, "thresholds": gc.get_threshold()}


@contextmanager
def collector_paced(first_threshold: int = RUN_GC_THRESHOLD) -> Iterator[None]:
    """The garbage collector run less often while a pipeline runs, as before once it ends.

    A REST page decodes into thousands of new dicts and lists, so at Python's default
    threshold the collector ran every few pages and, five times in the shop's 734 pages, a
    full pass over every object of the process (the records in flight and ~190k of dlt's
    and the libraries' own, ~0.2 s a pass): ~1 CPU s of a 183k-record load, holding the
    interpreter lock the page-fetching threads need too. At 50,000 no full pass runs
    during such a load (at 10,000, one). Nearly every object is freed by reference counting
    as soon as it is dropped, whatever the threshold, so memory stays where it was.
    Overlapping runs (threads of one process) restore the thresholds when the last ends."""
    with _paced:
        if not _pacing["runs"]:
            _pacing["thresholds"] = gc.get_threshold()
            first, *older = _pacing["thresholds"]
            gc.set_threshold(max(first, first_threshold), *older)
        _pacing["runs"] += 1
    try:
        yield
    finally:
        with _paced:
            _pacing["runs"] -= 1
            if not _pacing["runs"]:
                gc.set_threshold(*_pacing["thresholds"])


@dataclass
class SystemLoad:
    """What ``system_load`` did around a run: the tables it switched to append, and (once
    the run is done) the run's reconciliation rows."""

    appended: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def system_load(
    system: str,
    pipeline: dlt.Pipeline,
    source: Any,
    warehouse_path: Path,
    *,
    full_refresh: bool = False,
    window: Window | None = None,
    resources: list[str] | tuple[str, ...] | None = None,
    pipelines_dir: Path | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> Iterator[SystemLoad]:
    """The steps around one ``pipeline.run`` of ``source``, whoever runs it (``run_system``,
    or a Dagster asset through dagster-dlt): one place, so both paths load alike.

    Before the run: load what a killed run left pending (``finish_interrupted``) and let
    ``upsert`` tables without rows append (``append_into_empty_tables``; not on a full
    refresh, which drops the tables as the run starts). After it, if it did not fail:
    reconcile and audit it (``record_run``; ``resources``: the ones it read, default all
    of the system's or the window's) and create the contract tables no load has created
    yet (``create_empty_tables``). ``connection``: the warehouse connection ``pipeline``
    loads through, if it has one (``make_pipeline``), for the audit to use as well.
    """
    finish_interrupted(system, pipeline)
    reload_previous_layout(system, pipeline, source)
    drop_row_ids(system, pipeline, ARROW_WITHOUT_ROW_ID.get(system, ()))
    load = SystemLoad()
    if not full_refresh:
        load.appended = append_into_empty_tables(pipeline, source)
    with collector_paced():
        yield load
    load.rows = record_run(
        system, pipeline, warehouse_path, pipelines_dir, window, resources, connection
    )
    create_empty_tables(system, pipeline, source, list(resources) if resources else None)


def run_system(
    system: str,
    sources_dir: Path,
    warehouse_path: Path,
    endpoints: Mapping[str, Any] | None = None,
    full_refresh: bool = False,
    pipelines_dir: Path | None = None,
    window: Window | None = None,
) -> list[dict[str, Any]]:
    """Load one system into ``raw_<system>`` and return its reconciliation rows; with a
    ``window``, re-extract only the event-shaped records of its days (see ``make_source``)."""
    if window is not None:
        window = window_of(system, window)
        if full_refresh:
            raise ValueError("a window run re-extracts some days; it cannot be a full refresh")
    started = time.monotonic()
    # One warehouse connection for the run, its audit and its checks (destination.py).
    with warehouse_connection(warehouse_path) as connection:
        pipeline = make_pipeline(system, warehouse_path, pipelines_dir, connection)
        source = make_source(system, sources_dir, endpoints, window)
        with system_load(
            system,
            pipeline,
            source,
            warehouse_path,
            full_refresh=full_refresh,
            window=window,
            pipelines_dir=pipelines_dir,
            connection=connection,
        ) as load:
            pipeline.run(source, refresh="drop_sources" if full_refresh else None)
    rows = load.rows
    totals = {k: sum(r[k] for r in rows) for k in ("received", "loaded", "quarantined")}
    log.info(
        "Ingested %-11s into %s: received %d, loaded %d, quarantined %d in %.1fs%s",
        system,
        dataset_name(system),
        totals["received"],
        totals["loaded"],
        totals["quarantined"],
        time.monotonic() - started,
        " (full refresh)" if full_refresh else f" (backfill {describe(window)})" if window else "",
    )
    for row in rows:
        if row["quarantined"]:
            log.warning(
                "%s.%s: %d record(s) quarantined, see %s._quarantine (load %s)",
                system,
                row["resource"],
                row["quarantined"],
                dataset_name(system),
                row["load_id"],
            )
    return rows


def run_ingestion(
    sources_dir: Path,
    warehouse_path: Path,
    systems: tuple[str, ...] | list[str] | None = None,
    full_refresh: bool = False,
    window: Window | None = None,
) -> list[dict[str, Any]]:
    """Run every system's pipeline (with a ``window``: every event system's backfill of
    those days); one reconciliation row per system and resource."""
    systems = tuple(systems or (EVENT_SYSTEMS if window else SYSTEMS))
    for system in systems:
        _check(system)
    rows: list[dict[str, Any]] = []
    needs_api = any(s in REST_SYSTEMS for s in systems)
    with sandbox_endpoints(sources_dir) if needs_api else _no_endpoints() as endpoints:
        for system in systems:
            rows.extend(
                run_system(
                    system, sources_dir, warehouse_path, endpoints, full_refresh, window=window
                )
            )
    return rows


@contextmanager
def _no_endpoints() -> Iterator[dict[str, dict[str, str]]]:
    yield {}
