"""File drops are read a few files ahead on worker threads: the rows, the quarantine and the
counts must be those of reading the files one by one, in listing order."""

from __future__ import annotations

import gzip
import json
import threading
import zlib

import pytest
from ingest_helpers import query

from ingestion.files import READ_AHEAD, read_ahead
from ingestion.pipelines import run_system


def test_read_ahead_returns_results_in_order_with_a_bounded_number_started():
    started: list[int] = []
    consumed: list[int] = []
    lock = threading.Lock()
    # The first item waits until the next ones have started: they finish first, yet come
    # out after it.
    others_started = threading.Event()

    def work(i: int) -> int:
        with lock:
            started.append(i)
            if len(started) == READ_AHEAD:
                others_started.set()
        if i == 0:
            others_started.wait(timeout=10)
        return i * i

    ahead = []
    for result in read_ahead(work, range(20)):
        with lock:
            # Never more than the read-ahead depth started beyond what was handed over.
            ahead.append(len(started) - len(consumed))
        consumed.append(result)
    assert consumed == [i * i for i in range(20)]
    assert sorted(started) == list(range(20))
    assert max(ahead) <= READ_AHEAD + 1


def test_read_ahead_raises_at_the_failing_item_and_starts_nothing_after_it():
    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        if i == 3:
            raise ValueError("file 3 is unreadable")
        return i

    results = []
    with pytest.raises(ValueError, match="file 3"):
        for result in read_ahead(work, range(100)):
            results.append(result)
    assert results == [0, 1, 2]
    assert max(started) <= 3 + READ_AHEAD


def _event(event_id: str, page_url: str, day: str) -> bytes:
    record = {
        "event_id": event_id,
        "platform": "web",
        "event_type": "page_view",
        "occurred_at": f"{day}T10:00:00Z",
        "page_url": page_url,
    }
    return json.dumps(record).encode()


def _gz(lines: list[bytes]) -> bytes:
    return gzip.compress(b"\n".join(lines) + b"\n")


@pytest.fixture(scope="module")
def many_files(tmp_path_factory):
    """Twelve days of clickstream files (more than the read-ahead holds), two damaged, one
    key sent on every day."""
    root = tmp_path_factory.mktemp("read_ahead")
    sources, warehouse = root / "sources", root / "warehouse.duckdb"
    files = {}
    for n in range(12):
        day = f"2025-09-{n + 1:02d}"
        lines = [_event(f"{day}-{i}", "/p", day) for i in range(50)]
        lines.append(_event("every-day", f"/day-{n}", day))
        if n == 4:
            lines.insert(10, b'{"event_id": "broken", "platform": "web"')
        blob = _gz(lines)
        if n == 7:
            blob = blob[: len(blob) // 2]  # truncated: the complete lines still load
        files[day] = blob
        folder = sources / "clickstream" / f"dt={day}"
        folder.mkdir(parents=True)
        (folder / "events-0.jsonl.gz").write_bytes(blob)
    rows = run_system("clickstream", sources, warehouse)
    return warehouse, rows, files


def test_many_files_reconcile_and_keep_the_newest_version_of_a_repeated_key(many_files):
    warehouse, rows, files = many_files
    (row,) = [r for r in rows if r["resource"] == "events"]
    loaded = query(warehouse, "select count(*) from raw_clickstream.events")[0][0]
    quarantined = query(warehouse, "select reason from raw_clickstream._quarantine order by 1")
    assert row["received"] == row["loaded"] + row["quarantined"]
    assert (row["loaded"], row["quarantined"]) == (loaded, len(quarantined))
    # The key sent every day loads once, from the last day (files are read newest delivery
    # first, whatever order the listing came in); each older version is in the quarantine
    # (the truncated day lost its with the unreadable half of its file).
    (kept,) = query(
        warehouse, "select page_url from raw_clickstream.events where event_id = 'every-day'"
    )
    assert kept == ("/day-11",)
    repeated = query(
        warehouse,
        "select json_extract_string(payload, '$.page_url') from raw_clickstream._quarantine "
        "where reason like '%superseded by a newer delivery of the same key in "
        "dt=2025-09-12/events-0.jsonl.gz%'",
    )
    versions = sorted([kept[0], *(url for (url,) in repeated)])
    assert versions == sorted(f"/day-{n}" for n in range(12) if n != 7)
    reasons = [r for (r,) in quarantined]
    malformed = "malformed JSON at dt=2025-09-05/events-0.jsonl.gz line 11"
    assert sum(r.startswith(malformed) for r in reasons) == 1
    truncated = "file: truncated gzip file (unexpected end of stream) in dt=2025-09-08/"
    assert sum(r.startswith(truncated) for r in reasons) == 1
    # Every good line loaded: 50 a day, and the complete lines of the truncated file.
    readable = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(files["2025-09-08"])
    complete = readable[: readable.rfind(b"\n")].count(b"\n") + 1
    for n in range(12):
        day = f"2025-09-{n + 1:02d}"
        (count,) = query(
            warehouse,
            "select count(*) from raw_clickstream.events where event_id like ?",
            f"{day}-%",
        )[0]
        assert count == (complete if day == "2025-09-08" else 50), day
