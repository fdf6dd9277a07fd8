"""Partition files: JSON lines from Arrow tables keep every value, key order and row order."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa

from ingestion.sandbox.files import FileWriter, write_jsonl_table


def test_jsonl_files_round_trip_awkward_values(tmp_path):
    table = pa.table(
        {
            "event_id": ["ev1", "ev2", "ev3"],
            "page_url": ['/buscar?q=sartén "oferta"', "C:\\tienda\\p", None],
            "quantity": pa.array([1, None, 3], pa.int64()),
            "is_late": [True, False, None],
            "nothing": pa.nulls(3),
        }
    )
    with FileWriter() as writer:
        write_jsonl_table(tmp_path, "clickstream", "events", "2025-11-28", table, writer)
        write_jsonl_table(
            tmp_path, "clickstream", "events", "2025-11-28", table.slice(0, 1), writer
        )
    folder = tmp_path / "clickstream" / "dt=2025-11-28"
    assert sorted(p.name for p in folder.iterdir()) == ["events-0.jsonl.gz", "events-1.jsonl.gz"]
    lines = gzip.decompress((folder / "events-0.jsonl.gz").read_bytes()).decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows == table.to_pylist()
    assert list(rows[0]) == table.column_names
    assert rows[0]["page_url"] == '/buscar?q=sartén "oferta"'
    # an appended batch lands in the next file number of the same partition
    more = gzip.decompress((folder / "events-1.jsonl.gz").read_bytes()).decode().splitlines()
    assert [json.loads(line)["event_id"] for line in more] == ["ev1"]
