"""Small file drops written by hand for the newest-delivery tests: one record of each file
source's shape, and one day's partition written with a chosen delivery time (the file's
modification date, which decides which delivery of a key is the newest)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from ingestion.pipelines import run_system

DAY = "2025-09-10"
SPEND_HEADER = "date,channel,campaign_id,spend,impressions,clicks,currency\n"


def event(event_id: str, page_url: str, day: str = DAY) -> dict:
    return {
        "event_id": event_id,
        "anonymous_id": "anon-1",
        "platform": "web",
        "event_type": "page_view",
        "occurred_at": f"{day}T10:00:00Z",
        "page_url": page_url,
    }


def delivery(event_id: str, recipient: str, day: str = DAY) -> dict:
    return {
        "event_id": event_id,
        "delivery_id": event_id.split("-")[0],
        "campaign_id": "CMP-EMAIL-1",
        "channel": "email",
        "recipient": recipient,
        "event_type": "sent",
        "occurred_at": f"{day}T08:00:00Z",
    }


def conversation(name: str, bodies: list[str], csat: int, day: str = DAY) -> dict:
    return {
        "conversation_id": name,
        "channel": "email",
        "started_at": f"{day}T09:00:00Z",
        "csat": csat,
        "messages": [
            {"message_id": f"{name}-{n}", "sender": "customer", "body": body}
            for n, body in enumerate(bodies)
        ],
    }


def deliver(sources: Path, day: str, files: dict[str, str | list], delivered_at: int) -> None:
    """Write one day's partition, ``files``: ``<system>/<file>`` to its content (text as is;
    a list as gzip JSONL, each record dumped unless it is already a line), every file
    stamped with ``delivered_at``."""
    for name, content in files.items():
        system, file_name = name.split("/")
        path = sources / system / f"dt={day}" / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            lines = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in content)
            path.write_bytes(gzip.compress(lines.encode()))
        os.utime(path, (delivered_at, delivered_at))


def run_counts(
    sources: Path, warehouse: Path, systems, window=None
) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(system, resource) → (received, loaded, quarantined) of one run of each system."""
    counts = {}
    for system in systems:
        for r in run_system(system, sources, warehouse, window=window):
            counts[(system, r["resource"])] = (r["received"], r["loaded"], r["quarantined"])
    return counts
