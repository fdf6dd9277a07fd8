"""Conversation messages reach dlt as an Arrow table of their own (``nested_arrow``): each
load replaces the messages of the conversations it carries, and only theirs."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import dlt
from dlt.common.normalizers.json.helpers import get_nested_row_hash, get_row_hash
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.sources.filesystem import filesystem
from ingest_helpers import query

from ingestion.files import file_bytes
from ingestion.filesource import local_bucket
from ingestion.messaging.settings import CONVERSATIONS_GLOB
from ingestion.pipelines import make_pipeline, run_system

MESSAGES_SQL = (
    "select c.conversation_id, m.message_id, m._dlt_list_idx, m.body "
    "from raw_messaging.conversations__messages m join raw_messaging.conversations c "
    "on c._dlt_id = m._dlt_root_id and c._dlt_id = m._dlt_parent_id order by all"
)


def _conversation(name: str, messages: int, body: str = "hola") -> dict:
    return {
        "conversation_id": name,
        "channel": "email",
        "customer_email": f"{name.lower()}@example.com",
        "topic": "envio",
        "started_at": "2025-09-14T10:00:00Z",
        "csat": 4,
        "messages": [
            {
                "message_id": f"{name}-{n}",
                "sender": "customer",
                "sent_at": f"2025-09-14T10:0{n}:00Z",
                "body": body,
            }
            for n in range(messages)
        ],
    }


def _write(sources: Path, day: str, records: list[dict], n: int = 0) -> None:
    folder = sources / "messaging" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r) + "\n" for r in records).encode()
    (folder / f"conversations-{n}.jsonl.gz").write_bytes(gzip.compress(lines))


def _run(sources: Path, warehouse: Path) -> dict[str, tuple[int, int, int]]:
    rows = run_system("messaging", sources, warehouse)
    return {r["resource"]: (r["received"], r["loaded"], r["quarantined"]) for r in rows}


def _messages(warehouse: Path) -> list[tuple]:
    return query(warehouse, MESSAGES_SQL)


def test_a_load_replaces_the_messages_of_its_conversations_only(tmp_path):
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    untouched = _conversation("D", 2)
    _write(
        sources,
        "2025-09-14",
        [_conversation("A", 3), _conversation("B", 2), _conversation("C", 2), untouched],
    )
    assert _run(sources, warehouse)["conversations"] == (4, 4, 0)
    assert len(_messages(warehouse)) == 9
    (a_row_id,) = query(
        warehouse, "select _dlt_id from raw_messaging.conversations where conversation_id = 'A'"
    )

    # A later drop: A keeps one message (edited), B's messages become an empty list, C's go
    # missing altogether. D is not in it.
    shrunk = _conversation("A", 1, body="editado")
    bare = _conversation("C", 0)
    del bare["messages"]
    _write(sources, "2025-09-15", [shrunk, _conversation("B", 0), bare])
    assert _run(sources, warehouse)["conversations"] == (3, 3, 0)

    assert _messages(warehouse) == [
        ("A", "A-0", 0, "editado"),
        ("D", "D-0", 0, "hola"),
        ("D", "D-1", 1, "hola"),
    ]
    assert query(warehouse, "select count(*) from raw_messaging.conversations") == [(4,)]
    # A conversation's row id is its key's hash, as dlt makes it: the same in every load.
    assert query(
        warehouse, "select _dlt_id from raw_messaging.conversations where conversation_id = 'A'"
    ) == [a_row_id]
    assert a_row_id == (get_row_hash({"conversation_id": "A"}, ["conversation_id"]),)
    (message_row_id,) = query(
        warehouse,
        "select _dlt_id from raw_messaging.conversations__messages where message_id = 'A-0'",
    )
    assert message_row_id == (get_nested_row_hash(a_row_id[0], "conversations__messages", 0),)
    # No marker row (list index -1) and no message without its conversation is loaded.
    assert query(
        warehouse,
        "select count(*) from raw_messaging.conversations__messages m "
        "anti join raw_messaging.conversations c on c._dlt_id = m._dlt_root_id",
    ) == [(0,)]
    assert query(
        warehouse,
        "select count(*) from raw_messaging.conversations__messages where _dlt_list_idx < 0",
    ) == [(0,)]


def test_a_conversation_repeated_in_a_later_file_keeps_the_newer_version(tmp_path):
    """Separate merge jobs cannot keep only one version's messages, so the older file's
    version goes to quarantine, messages and all, and the counts still reconcile."""
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    _write(sources, "2025-09-14", [_conversation("A", 3), _conversation("B", 1)])
    _write(sources, "2025-09-15", [_conversation("A", 1, body="otra")])
    assert _run(sources, warehouse)["conversations"] == (3, 2, 1)
    assert [m[:4] for m in _messages(warehouse)] == [
        ("A", "A-0", 0, "otra"),
        ("B", "B-0", 0, "hola"),
    ]
    ((reason, payload),) = query(warehouse, "select reason, payload from raw_messaging._quarantine")
    assert "superseded by a newer delivery of the same key in dt=2025-09-15/" in reason
    assert payload.replace(" ", "").count('"body":"hola"') == 3  # the older version's messages


def _nested_layout_load(sources: Path, warehouse: Path) -> None:
    """The layout before: conversations as dicts through dlt's normaliser (messages a dlt
    nested table, random conversation row ids), the file listing's cursor moved."""

    def records(items: list[FileItemDict]):
        for item in items:
            data, _ = file_bytes(item)
            yield [json.loads(line) for line in data.splitlines() if line.strip()]

    @dlt.source(name="messaging", max_table_nesting=1)
    def messaging():
        listing = filesystem(
            bucket_url=local_bucket(sources, "messaging"),
            file_glob=CONVERSATIONS_GLOB,
            incremental=dlt.sources.incremental("modification_date"),
        ).with_name("conversations_files")
        reader = dlt.transformer(
            records,
            name="conversations",
            primary_key="conversation_id",
            write_disposition="merge",
        )
        return listing | reader

    pipeline = make_pipeline("messaging", warehouse)
    pipeline.run(messaging())
    assert pipeline.default_schema.tables["conversations__messages"].get("parent")


def test_a_warehouse_with_nested_conversation_tables_is_reloaded_once(tmp_path, caplog):
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    _write(sources, "2025-09-14", [_conversation("A", 2), _conversation("B", 1)])
    _nested_layout_load(sources, warehouse)

    with caplog.at_level(logging.WARNING, logger="ingestion.nested_arrow"):
        # Every file again, though the listing's cursor had passed them all.
        assert _run(sources, warehouse)["conversations"] == (2, 2, 0)
    assert any("reloading conversations from scratch" in r.getMessage() for r in caplog.records)
    expected = [("A", "A-0", 0), ("A", "A-1", 1), ("B", "B-0", 0)]
    assert [m[:3] for m in _messages(warehouse)] == expected
    schema = make_pipeline("messaging", warehouse).default_schema
    assert "parent" not in schema.tables["conversations__messages"]

    # Once: the next run finds the new layout and reads only new files.
    caplog.clear()
    _write(sources, "2025-09-15", [_conversation("C", 1)])
    with caplog.at_level(logging.WARNING, logger="ingestion.nested_arrow"):
        assert _run(sources, warehouse)["conversations"] == (1, 1, 0)
    assert not any("from scratch" in r.getMessage() for r in caplog.records)
    assert [m[:3] for m in _messages(warehouse)] == [*expected, ("C", "C-0", 0)]
