"""Rows written mid-window (a campaign day's millions of deliveries) are the same rows."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

from sandbox_helpers import jsonl, kpis, truth

from ingestion.sandbox import generate, records

# Black Friday and 1 December: special sends to every contact on three channels.
ARGS = {"customers": 400, "days": 10, "seed": 5, "start": date(2025, 11, 24)}


def _rows(out, system: str, prefix: str) -> Counter:
    return Counter(json.dumps(r, sort_keys=True) for r in jsonl(out, system, prefix))


def test_spilling_file_rows_changes_no_record(tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    generate(whole, **ARGS)
    monkeypatch.setattr(records, "SPILL_ROWS", 200)
    spilled = tmp_path / "spilled"
    generate(spilled, **ARGS)

    deliveries = _rows(whole, "messaging", "deliveries")
    assert sum(deliveries.values()) > 2000  # enough rows to spill many times
    assert _rows(spilled, "messaging", "deliveries") == deliveries
    assert _rows(spilled, "clickstream", "events") == _rows(whole, "clickstream", "events")
    assert _rows(spilled, "messaging", "conversations") == _rows(
        whole, "messaging", "conversations"
    )
    # each spill writes its own files: the rows really went out in slices
    n_files = [len(list((w / "messaging").glob("dt=*/deliveries-*"))) for w in (whole, spilled)]
    assert n_files[1] > n_files[0]

    cols = ["source_system", "source_entity", "source_record_id", "person_id"]
    a = truth(whole).sort_values(cols, ignore_index=True)
    b = truth(spilled).sort_values(cols, ignore_index=True)
    assert a.equals(b)
    assert kpis(spilled) == kpis(whole)
