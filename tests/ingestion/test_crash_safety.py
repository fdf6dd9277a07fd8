"""A load killed mid-way (SIGKILL, no chance to clean up) and run again leaves no duplicate
and no gap: the warehouse equals the one a clean run builds."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ingest_helpers import query

from ingestion.pipelines import make_pipeline, run_system

EVENTS_PER_FILE = 20_000
FILES = 5

CHILD = """
import sys
from pathlib import Path
from ingestion.pipelines import make_pipeline, run_system
run_system("clickstream", Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.fixture(scope="module")
def big_clickstream(first_load, tmp_path_factory) -> Path:
    """The small world's clickstream plus 200k synthetic events, so a load takes seconds."""
    sources = tmp_path_factory.mktemp("crash") / "sources"
    shutil.copytree(first_load.sources / "clickstream", sources / "clickstream")
    for n in range(FILES):
        day = f"2025-09-{10 + n:02d}"
        lines = (
            json.dumps(
                {
                    "event_id": f"crash-{n}-{i}",
                    "anonymous_id": f"anon-{i % 5000}",
                    "platform": "web",
                    "event_type": "page_view",
                    "occurred_at": f"{day}T{i % 24:02d}:00:00Z",
                    "page_url": f"/p/{i}",
                }
            )
            for i in range(EVENTS_PER_FILE)
        )
        path = sources / "clickstream" / f"dt={day}" / "events-crash.jsonl.gz"
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1))
    return sources


@pytest.fixture(scope="module")
def clean_events(big_clickstream, tmp_path_factory) -> tuple[int, int]:
    warehouse = tmp_path_factory.mktemp("clean") / "warehouse.duckdb"
    run_system("clickstream", big_clickstream, warehouse)
    return _counts(warehouse)


def _counts(warehouse: Path) -> tuple[int, int]:
    return query(
        warehouse, "select count(*), count(distinct event_id) from raw_clickstream.events"
    )[0]


# Where dlt's files are while each step runs, and how long after they appear to kill: extract
# creates normalize/<random folder> when it starts (the package moves to normalize/extracted
# when complete), load starts each job from
# load/normalized/<id>/started_jobs.
STAGES = {
    "extract": ("normalize/*", 0.3, False),
    "load": ("load/normalized/*/started_jobs/*", 0.0, True),
}


def _kill_when(
    pattern: str, delay: float, pipeline_dir: Path, sources: Path, warehouse: Path
) -> int:
    """Start a load in a child process and SIGKILL it ``delay`` s after ``pattern`` matches."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(sources), str(warehouse)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if any("extracted" not in p.parts for p in pipeline_dir.glob(pattern)):
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    return child.wait(timeout=60)


@pytest.mark.parametrize("stage", list(STAGES))
def test_killed_run_rerun_has_no_duplicate_and_no_gap(
    big_clickstream, clean_events, tmp_path, stage
):
    warehouse = tmp_path / "warehouse.duckdb"
    pattern, delay, leaves_pending_package = STAGES[stage]
    pipeline_dir = tmp_path / "dlt_pipelines" / "omni_clickstream"
    code = _kill_when(pattern, delay, pipeline_dir, big_clickstream, warehouse)
    assert code == -signal.SIGKILL, f"the child finished before it was killed (exit {code})"
    # Killed after extract, the package (and the cursor state it carries) is still pending.
    pending = make_pipeline("clickstream", warehouse).has_pending_data
    assert pending == leaves_pending_package
    run_system("clickstream", big_clickstream, warehouse)
    assert _counts(warehouse) == clean_events
    assert not make_pipeline("clickstream", warehouse).has_pending_data
    assert clean_events[0] >= FILES * EVENTS_PER_FILE
