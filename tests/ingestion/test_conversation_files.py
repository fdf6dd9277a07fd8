"""Conversation files checked column-wise load exactly as the record-by-record check loads
them; a file with anything to reject or coerce takes the record check, file by file."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ingest_helpers import query, table_rows

from ingestion import files
from ingestion.pipelines import run_system


def _conversation(n: int, **changes) -> dict:
    record = {
        "conversation_id": f"CV{n:09d}",
        "channel": "whatsapp",
        "customer_email": None,
        "customer_phone": "+34600000001",
        "customer_handle": None,
        "topic": "pedido",
        "started_at": "2025-09-14T10:00:00Z",
        "first_response_at": "2025-09-14T10:01:30Z",
        "resolved_at": None,
        "csat": 5,
        "messages": [
            {
                "message_id": f"CV{n:09d}-1",
                "sender": "customer",
                "sent_at": "2025-09-14T10:00:00Z",
                "body": "Hola, ¿dónde está mi pedido?",
            },
            {
                "message_id": f"CV{n:09d}-2",
                "sender": "agent",
                "sent_at": "2025-09-14T10:01:30Z",
                "body": "Sale hoy.",
            },
        ],
    }
    return {**record, **changes}


def _write(sources: Path, day: str, records: list[dict]) -> None:
    folder = sources / "messaging" / f"dt={day}"
    folder.mkdir(parents=True)
    lines = "".join(json.dumps(r) + "\n" for r in records).encode()
    (folder / "conversations-0.jsonl.gz").write_bytes(gzip.compress(lines))


@pytest.fixture
def conversation_files(tmp_path) -> Path:
    """A clean day, and a day with a text `csat` to coerce, a naive timestamp (UTC) and a
    message without its key."""
    sources = tmp_path / "sources"
    _write(sources, "2025-09-14", [_conversation(1), _conversation(2, messages=[])])
    coerced = _conversation(3, csat="4")
    coerced["messages"][1]["sent_at"] = "2025-09-14T11:02:00"
    broken = _conversation(4)
    del broken["messages"][1]["message_id"]
    _write(sources, "2025-09-15", [coerced, broken])
    return sources


def _load(sources: Path, warehouse: Path) -> dict:
    rows = run_system("messaging", sources, warehouse)
    tables = table_rows(warehouse)
    return {
        "conversations": tables["raw_messaging.conversations"],
        "messages": tables["raw_messaging.conversations__messages"],
        "children": query(
            warehouse,
            "select c.conversation_id, m.message_id, m._dlt_list_idx"
            " from raw_messaging.conversations__messages m"
            " join raw_messaging.conversations c on m._dlt_parent_id = c._dlt_id order by all",
        ),
        "quarantine": query(
            warehouse, "select resource, reason from raw_messaging._quarantine order by all"
        ),
        "reconciliation": sorted(
            (r["resource"], r["received"], r["loaded"], r["quarantined"]) for r in rows
        ),
    }


def test_checked_files_load_as_the_record_check_loads_them(
    conversation_files, tmp_path, monkeypatch
):
    fast_files = []
    real = files.checked_nested_tables

    def counted(contract, records):
        result = real(contract, records)
        fast_files.append(result is not None)
        return result

    monkeypatch.setattr(files, "checked_nested_tables", counted)
    mine = _load(conversation_files, tmp_path / "fast" / "warehouse.duckdb")
    # The clean day went column-wise, the other day record by record.
    assert sorted(fast_files) == [False, True]

    monkeypatch.setattr(files, "checked_nested_tables", lambda contract, records: None)
    reference = _load(conversation_files, tmp_path / "records" / "warehouse.duckdb")
    assert mine == reference

    # And what a user reads: every conversation, the coerced score, the messages under
    # their conversation, the naive timestamp as UTC, the rejected one in quarantine.
    by_id = {row[0]: row for row in mine["conversations"]}
    assert sorted(by_id) == ["CV000000001", "CV000000002", "CV000000003"]
    assert by_id["CV000000003"][-1] == 4
    assert mine["children"] == [
        ("CV000000001", "CV000000001-1", 0),
        ("CV000000001", "CV000000001-2", 1),
        ("CV000000003", "CV000000003-1", 0),
        ("CV000000003", "CV000000003-2", 1),
    ]
    sent = {row[0]: row[2] for row in mine["messages"]}
    assert sent["CV000000001-2"] == datetime(2025, 9, 14, 10, 1, 30, tzinfo=UTC)
    assert sent["CV000000003-2"] == datetime(2025, 9, 14, 11, 2, tzinfo=UTC)
    assert [resource for resource, _ in mine["quarantine"]] == ["conversations"]
    assert "message_id" in mine["quarantine"][0][1]
    assert ("conversations", 4, 3, 1) in mine["reconciliation"]
