"""``omni bench``: generate a world, run the full job, advance one day, run again; measure.

Stage timings come from the Dagster event log of the very run ``omni run`` executes (step
start and end), not from separate partial runs, so the numbers describe the real pipeline.
The bench works in ``$OMNI_DATA_DIR/bench/`` and never touches the regular warehouse.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import dagster as dg

from orchestration.lib.resource_meter import ResourceMeter

STAGES = ("generate", "ingest", "transform", "checks", "publish")


def stage_of_step(step_key: str) -> str:
    if step_key.startswith("ingest_"):
        return "ingest"
    if step_key.startswith("dbt_build"):
        return "transform"
    if step_key.startswith("published_marts"):
        return "publish"
    return "checks"


def step_windows(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """(start, end) wall-clock times of every step of a run, from its event log."""
    starts: dict[str, float] = {}
    windows: dict[str, tuple[float, float]] = {}
    ends = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type in ends and event.step_key in starts:
            windows[event.step_key] = (starts[event.step_key], entry.timestamp)
    return windows


def _measure_run(
    meter: ResourceMeter,
    sources: Path,
    instance: dg.DagsterInstance,
    generate_seconds: float,
    generate_window: tuple[float, float],
) -> dict:
    from orchestration.lib.runner import run_full_pipeline

    started = time.time()
    outcome = run_full_pipeline(sources_dir=sources, instance=instance)
    finished = time.time()
    if not outcome.ok:
        raise RuntimeError(
            f"bench run {outcome.run_id} failed: {outcome.failed_checks or outcome.failed_steps}"
        )
    stages: dict[str, dict] = {
        "generate": {
            "seconds": round(generate_seconds, 2),
            "peak_rss_mb": meter.peak_mb(*generate_window),
        }
    }
    windows = step_windows(instance, outcome.run_id)
    for stage in STAGES[1:]:
        spans = [w for step, w in windows.items() if stage_of_step(step) == stage]
        stages[stage] = {
            "seconds": round(sum(end - start for start, end in spans), 2),
            "peak_rss_mb": max((meter.peak_mb(s, e) for s, e in spans), default=0.0),
        }
    stages["total"] = {
        "seconds": round(generate_seconds + finished - started, 2),
        "peak_rss_mb": meter.peak_mb(generate_window[0], finished),
    }
    return stages


def _source_rows(sources: Path) -> int | None:
    manifest = sources / "_truth" / "manifest.json"
    if not manifest.exists():
        return None
    counts = json.loads(manifest.read_text()).get("row_counts", {})

    def total(value) -> int:
        if isinstance(value, dict):
            return sum(total(v) for v in value.values())
        return int(value) if isinstance(value, int | float) else 0

    return total(counts)


def run_benchmark(customers: int, days: int, seed: int = 42) -> dict:
    from ingestion import paths

    bench_dir = paths.data_dir() / "bench" / f"{customers}c_{days}d"
    shutil.rmtree(bench_dir, ignore_errors=True)
    bench_dir.mkdir(parents=True)
    # Everything below (warehouse, dbt target, Dagster home) follows OMNI_DATA_DIR.
    os.environ["OMNI_DATA_DIR"] = str(bench_dir)
    os.environ["DAGSTER_HOME"] = str(bench_dir / "dagster_home")
    sources = bench_dir / "sources"

    from ingestion.sandbox import advance, generate
    from orchestration.lib.runner import local_instance

    # dbt and dlt print progress to stdout; stdout must carry nothing but the JSON document.
    with ResourceMeter() as meter, contextlib.redirect_stdout(sys.stderr):
        instance = local_instance()
        started = time.time()
        generate(sources, customers=customers, days=days, seed=seed)
        generated = time.time()
        full = _measure_run(meter, sources, instance, generated - started, (started, generated))
        rows = _source_rows(sources)

        started = time.time()
        advance(sources, days=1)
        advanced = time.time()
        incremental = _measure_run(
            meter, sources, instance, advanced - started, (started, advanced)
        )
    return {
        "customers": customers,
        "days": days,
        "source_rows": rows,
        **full,
        "incremental": incremental,
    }
