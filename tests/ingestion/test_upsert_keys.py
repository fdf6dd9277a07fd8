"""Resources merged by upsert: a key repeated across files (or chunks) of one load is loaded
once (the rest quarantined, counted; from files, the newest delivery), and a changed file
still replaces the loaded version."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sqlite3
from pathlib import Path

import duckdb
import pytest
from ingest_helpers import query

from ingestion.load_keys import drop_restaged_duplicates
from ingestion.pipelines import default_pipelines_dir, make_pipeline, run_system


def _event(event_id: str, page_url: str, day: str) -> dict:
    return {
        "event_id": event_id,
        "anonymous_id": "anon-1",
        "user_id": None,
        "platform": "web",
        "event_type": "page_view",
        "occurred_at": f"{day}T10:00:00Z",
        "page_url": page_url,
    }


def _write(sources: Path, day: str, events: list[dict], part: int = 0) -> None:
    folder = sources / "clickstream" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(e) + "\n" for e in events)
    (folder / f"events-{part}.jsonl.gz").write_bytes(gzip.compress(lines.encode()))


def _events(warehouse: Path) -> dict[str, str]:
    return dict(query(warehouse, "select event_id, page_url from raw_clickstream.events"))


@pytest.fixture(scope="module")
def loads(tmp_path_factory):
    root = tmp_path_factory.mktemp("upsert")
    sources, warehouse = root / "sources", root / "warehouse.duckdb"
    # e1 re-delivered a day later (with another page), e2 twice in two files of one day.
    # Written one after the other: the later partition and file number are the newer
    # delivery (equal modification times are settled by them).
    _write(sources, "2025-09-10", [_event("e1", "/first", "2025-09-10")])
    _write(sources, "2025-09-11", [_event("e1", "/again", "2025-09-10")])
    _write(sources, "2025-09-11", [_event("e2", "/x", "2025-09-11")], part=1)
    _write(sources, "2025-09-11", [_event("e2", "/x", "2025-09-11")], part=2)
    first = run_system("clickstream", sources, warehouse)
    after_first = _events(warehouse)
    # A changed file: its new version of e2 replaces the loaded one (no insert-only).
    _write(sources, "2025-09-11", [_event("e2", "/changed", "2025-09-11")], part=1)
    second = run_system("clickstream", sources, warehouse)
    return warehouse, first, after_first, second


def test_a_key_repeated_across_files_loads_once_and_is_quarantined(loads):
    warehouse, first, after_first, _ = loads
    (row,) = [r for r in first if r["resource"] == "events"]
    assert (row["received"], row["loaded"], row["quarantined"]) == (4, 2, 2)
    assert after_first == {"e1": "/again", "e2": "/x"}
    reasons = query(
        warehouse,
        "select reason, payload from raw_clickstream._quarantine where resource = 'events' "
        "order by payload",
    )
    assert len(reasons) == 2
    assert all("superseded by a newer delivery of the same key" in reason for reason, _ in reasons)
    assert "/first" in reasons[0][1]
    assert "in dt=2025-09-10/events-0.jsonl.gz superseded" in reasons[0][0]
    assert reasons[1][0].endswith("in dt=2025-09-11/events-2.jsonl.gz, loaded instead")


def test_a_changed_file_updates_the_loaded_event_without_duplicating(loads):
    warehouse, _, _, second = loads
    (row,) = [r for r in second if r["resource"] == "events"]
    assert (row["received"], row["loaded"], row["quarantined"]) == (1, 1, 0)
    assert _events(warehouse) == {"e1": "/again", "e2": "/changed"}
    assert query(warehouse, "select count(*) from raw_clickstream.events")[0][0] == 2


def test_events_merge_by_upsert(loads):
    warehouse = loads[0]
    schema = make_pipeline("clickstream", warehouse).default_schema
    assert schema.get_table("events")["x-merge-strategy"] == "upsert"


@pytest.fixture(scope="module")
def pos_repeat(world, tmp_path_factory, monkeypatch_module):
    """A POS database whose inventory table lost its primary key and holds two snapshot rows
    twice: the last row's corrected copy right after it (the same chunk), and a copy of the
    first row in a later chunk than the first."""
    sources = tmp_path_factory.mktemp("pos_repeat")
    (sources / "pos").mkdir()
    shutil.copy(world / "pos" / "pos.sqlite", sources / "pos" / "pos.sqlite")
    with sqlite3.connect(sources / "pos" / "pos.sqlite") as con:
        (ddl,) = con.execute(
            "select sql from sqlite_master where name = 'inventory_daily'"
        ).fetchone()
        keyless = re.sub(r",\s*PRIMARY KEY \([^)]*\)", "", ddl)
        con.execute("alter table inventory_daily rename to inventory_with_key")
        con.execute(keyless)
        con.execute("insert into inventory_daily select * from inventory_with_key")
        (last,) = con.execute("select max(rowid) from inventory_daily").fetchone()
        assert last % 1_000, "the corrected copy must share its original's chunk"
        con.execute(
            "insert into inventory_daily select snapshot_date, store_id, sku, on_hand + 1000, "
            "updated_at from inventory_daily where rowid = ?",
            [last],
        )
        con.execute("insert into inventory_daily select * from inventory_with_key limit 1")
        con.execute("drop table inventory_with_key")
        (rows,) = con.execute("select count(*) from inventory_daily").fetchone()
    monkeypatch_module.setenv("SOURCES__POS__CHUNK_SIZE", "1000")
    warehouse = sources / "warehouse.duckdb"
    return warehouse, run_system("pos", sources, warehouse), rows


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_a_pos_key_repeated_loads_once_the_chunks_latest_the_loads_first(pos_repeat):
    """Within a chunk (rows oldest first) the later version loads, as for a page or a file;
    across chunks the first version extracted does."""
    warehouse, rows, stored = pos_repeat
    assert stored > 2_000
    (row,) = [r for r in rows if r["resource"] == "inventory_daily"]
    assert (row["received"], row["loaded"], row["quarantined"]) == (stored, stored - 2, 2)
    loaded, keys = query(
        warehouse,
        "select count(*), count(distinct (snapshot_date, store_id, sku)) "
        "from raw_pos.inventory_daily",
    )[0]
    assert loaded == keys == stored - 2
    reasons = [
        reason
        for (reason,) in query(
            warehouse,
            "select reason from raw_pos._quarantine where resource = 'inventory_daily' "
            "order by reason",
        )
    ]
    assert len(reasons) == 2
    assert "already extracted earlier in this load" in reasons[0]
    assert "in the same batch; a later version was kept" in reasons[1]
    with sqlite3.connect(warehouse.parent / "pos" / "pos.sqlite") as con:
        corrected = con.execute(
            "select snapshot_date, store_id, sku, on_hand from inventory_daily "
            "where rowid = (select max(rowid) - 1 from inventory_daily)"
        ).fetchone()
    on_hand = query(
        warehouse,
        "select on_hand from raw_pos.inventory_daily "
        "where snapshot_date = ? and store_id = ? and sku = ?",
        *corrected[:3],
    )
    assert on_hand == [(corrected[3],)]


def test_rows_staged_twice_by_a_resumed_load_are_removed(loads, tmp_path):
    """The crash window upsert cannot cover by itself: a committed staging copy replayed when
    the package resumes inserts a new key twice; the resume repair keeps one row."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(loads[0], warehouse)
    shutil.copytree(default_pipelines_dir(loads[0]), default_pipelines_dir(warehouse))
    with duckdb.connect(str(warehouse)) as con:
        (load_id,) = con.execute(
            "select _dlt_load_id from raw_clickstream.events where event_id = 'e2'"
        ).fetchone()
        con.execute("insert into raw_clickstream.events select * from raw_clickstream.events")
    removed = drop_restaged_duplicates(make_pipeline("clickstream", warehouse), [load_id])
    assert removed == 1
    assert _events(warehouse) == {"e1": "/again", "e2": "/changed"}
    # Rows of other loads are not the resumed package's: left as they are.
    assert query(warehouse, "select count(*) from raw_clickstream.events")[0][0] == 3
