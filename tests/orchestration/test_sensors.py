"""New landing partitions start omni_full_run once; nothing new, nothing started."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.sensors.landing_files import new_landing_files_sensor
from orchestration.lib.source_systems import SourceSystemsResource


def _land(sources: Path, rel: str, mtime: float | None = None) -> Path:
    path = sources / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(b'{"event_id": "e1"}\n'))
    else:
        path.write_text("date,channel,spend\n2026-01-02,paid_search,120.50\n")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


class _Sensor:
    """Evaluates the sensor the way the daemon does: the cursor carries over between ticks."""

    def __init__(self, sources: Path):
        self.resources = {"source_systems": SourceSystemsResource(sources_dir=str(sources))}
        self.cursor: str | None = None

    def tick(self) -> list[dg.RunRequest]:
        context = dg.build_sensor_context(cursor=self.cursor, resources=self.resources)
        result = new_landing_files_sensor(context)
        if isinstance(result, dg.SensorResult):
            self.cursor = result.cursor
            return list(result.run_requests or [])
        self.cursor = context.cursor
        return []


@pytest.fixture
def sources(tmp_path) -> Path:
    root = tmp_path / "sources"
    # Another system's files and in-flight temp files never start a run.
    _land(root, "pos/pos.sqlite")
    _land(root, "clickstream/dt=2026-01-01/part-0.jsonl.gz", mtime=1_700_000_000)
    _land(root, "marketing/dt=2026-01-01/spend.csv", mtime=1_700_000_000)
    return root


def test_new_partition_requests_one_full_run(sources):
    sensor = _Sensor(sources)
    assert sensor.tick() == []  # files already there when switched on count as processed
    assert sensor.tick() == []
    _land(sources, "pos/pos.sqlite")
    _land(sources, "clickstream/dt=2026-01-02/.part-0.jsonl.gz.tmp")
    assert sensor.tick() == [], "only completed clickstream/messaging/marketing files count"

    _land(sources, "messaging/dt=2026-01-02/part-0.jsonl.gz", mtime=1_700_090_000)
    (request,) = sensor.tick()
    assert request.job_name in (None, "omni_full_run")
    assert new_landing_files_sensor.job_name == "omni_full_run"
    assert request.tags["omni/landing_partitions"] == "messaging/dt=2026-01-02"
    assert request.run_key.startswith("landing-")

    assert sensor.tick() == [], "the same files must not start a second run"


def test_run_key_follows_the_new_files(sources):
    first, second = _Sensor(sources), _Sensor(sources)
    first.tick(), second.tick()
    _land(sources, "marketing/dt=2026-01-02/spend.csv", mtime=1_700_090_000)
    (a,) = first.tick()
    (b,) = second.tick()
    # Two evaluations seeing the same new files ask for the same run: Dagster starts it once.
    assert a.run_key == b.run_key
    _land(sources, "marketing/dt=2026-01-03/spend.csv", mtime=1_700_180_000)
    (c,) = first.tick()
    assert c.run_key != a.run_key
    assert c.tags["omni/landing_partitions"] == "marketing/dt=2026-01-03"


def test_files_copied_with_old_timestamps_still_count(sources):
    sensor = _Sensor(sources)
    sensor.tick()
    # rsync -t keeps the source's mtime, older than anything already seen.
    _land(sources, "clickstream/dt=2025-12-31/part-0.jsonl.gz", mtime=1_600_000_000)
    (request,) = sensor.tick()
    assert "clickstream/dt=2025-12-31" in request.tags["omni/landing_partitions"]
    assert sensor.tick() == []


def test_empty_sources_dir_then_first_partition(tmp_path):
    sensor = _Sensor(tmp_path / "sources")
    assert sensor.tick() == []
    _land(tmp_path / "sources", "clickstream/dt=2026-01-01/part-0.jsonl.gz")
    (request,) = sensor.tick()
    assert request.tags["omni/landing_partitions"] == "clickstream/dt=2026-01-01"


def test_sensor_is_registered_for_the_full_run():
    from orchestration.definitions import defs

    sensor = defs.resolve_sensor_def("new_landing_files_sensor")
    assert sensor.job_name == "omni_full_run"
    assert defs.resolve_sensor_def("alert_on_run_failure") is not None
