"""Marketing spend CSV files reach dlt as Arrow tables: a clean file is parsed and checked
column-wise, any other file record by record (whose reasons are the reference), and both
load the same values with the contract's types, merged by ``upsert`` without a row id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dlt
import pytest
from ingest_helpers import query

from ingestion import files
from ingestion.marketing.settings import SPEND
from ingestion.pipelines import make_pipeline, run_system

HEADER = "date,channel,campaign_id,spend,impressions,clicks,currency"


@pytest.fixture(autouse=True, params=["arrow", "small files by record"])
def csv_path(request, monkeypatch):
    """Every test twice: with files of any size parsed by Arrow (the path of real daily
    files), and as the small files here are by default (record by record): same results."""
    if request.param == "arrow":
        monkeypatch.setattr(files, "CSV_ARROW_MIN_ROWS", 0)
    return request.param


TYPES = [
    ("date", "DATE"),
    ("channel", "VARCHAR"),
    ("campaign_id", "VARCHAR"),
    ("spend", "DECIMAL(18,2)"),
    ("impressions", "BIGINT"),
    ("clicks", "BIGINT"),
    ("currency", "VARCHAR"),
    ("_dlt_load_id", "VARCHAR"),
]


def _drop(sources: Path, day: str, text: str) -> None:
    path = sources / "marketing" / f"dt={day}" / "spend.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _spend(warehouse: Path) -> list[tuple]:
    return query(
        warehouse,
        "select date::varchar, channel, campaign_id, spend::varchar, impressions, clicks, "
        "currency from raw_marketing.spend order by all",
    )


def _columns(warehouse: Path) -> list[tuple]:
    return query(
        warehouse,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw_marketing' and table_name = 'spend' order by ordinal_position",
    )


def _quarantine(warehouse: Path) -> list[tuple[str, dict]]:
    rows = query(warehouse, "select reason, payload from raw_marketing._quarantine")
    return sorted((reason, json.loads(payload)) for reason, payload in rows)


def test_clean_and_damaged_files_load_the_same_values_and_types(tmp_path):
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    # Clean: Arrow reads and checks the whole file (an amount as 1e2, a blank optional count).
    _drop(sources, "2025-09-01", f"{HEADER}\n2025-09-01,display,CMP-A,1e2,10,,EUR\n")
    # Arrow would read 0x10 as 16 and an empty key as text: each file takes the record
    # check, which rejects them, and the file's good row loads as the clean file's does.
    _drop(
        sources,
        "2025-09-02",
        f"{HEADER}\n2025-09-02,display,CMP-A,1e2,10,,EUR\n2025-09-02,display,CMP-HEX,5,1,0x10,\n",
    )
    _drop(
        sources,
        "2025-09-04",
        f"{HEADER}\n2025-09-04,display,CMP-A,1,1,1,EUR\n2025-09-04,,CMP-NOKEY,5,1,1,EUR\n",
    )
    # A blank line in the middle: the record check skips it, so Arrow does not read the file.
    _drop(sources, "2025-09-03", f"{HEADER}\n2025-09-03,display,CMP-A,7.5,1,2,\n\n")
    (row,) = run_system("marketing", sources, warehouse)
    assert (row["received"], row["loaded"], row["quarantined"]) == (6, 4, 2)
    assert _spend(warehouse) == [
        ("2025-09-01", "display", "CMP-A", "100.00", 10, None, "EUR"),
        ("2025-09-02", "display", "CMP-A", "100.00", 10, None, "EUR"),
        ("2025-09-03", "display", "CMP-A", "7.50", 1, 2, ""),
        ("2025-09-04", "display", "CMP-A", "1.00", 1, 1, "EUR"),
    ]
    assert _columns(warehouse) == TYPES
    reasons = [reason for reason, _ in _quarantine(warehouse)]
    assert reasons == [
        "contract: field `clicks`: expected an integer, got '0x10'",
        "contract: missing primary key `channel`",
    ]


def test_a_column_outside_the_contract_loads_as_text(tmp_path):
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    _drop(sources, "2025-09-01", f"{HEADER},ad_group\n2025-09-01,display,CMP-A,1.00,1,1,EUR,g1\n")
    run_system("marketing", sources, warehouse)
    assert dict(_columns(warehouse)) == {**dict(TYPES), "ad_group": "VARCHAR"}
    assert query(warehouse, "select ad_group from raw_marketing.spend") == [("g1",)]


@pytest.mark.parametrize("local_state", [True, False], ids=["local_state", "restored_state"])
def test_a_warehouse_loaded_with_row_ids_keeps_loading(tmp_path, local_state):
    """Spend loaded as dicts before had dlt's random `_dlt_id` (NOT NULL): the column is
    dropped once, and the rows merge on their keys as before."""
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"

    @dlt.resource(
        name="spend",
        primary_key=list(SPEND.primary_key),
        write_disposition="merge",
        columns=SPEND.column_hints(),
    )
    def spend_as_dicts():
        yield {"date": "2025-09-01", "channel": "display", "campaign_id": "CMP-A", "spend": "1"}
        yield {"date": "2025-09-01", "channel": "display", "campaign_id": "CMP-B", "spend": "2"}

    make_pipeline("marketing", warehouse).run(
        dlt.source(name="marketing")(lambda: spend_as_dicts)()
    )
    assert ("_dlt_id", "VARCHAR") in _columns(warehouse)
    if not local_state:
        shutil.rmtree(warehouse.parent / "dlt_pipelines")

    _drop(
        sources,
        "2025-09-02",
        f"{HEADER}\n2025-09-01,display,CMP-A,9.00,1,1,EUR\n2025-09-02,display,CMP-C,3.00,1,1,EUR\n",
    )
    (row,) = run_system("marketing", sources, warehouse)
    assert (row["received"], row["loaded"]) == (2, 2)
    assert [r[2:4] for r in _spend(warehouse)] == [
        ("CMP-A", "9.00"),
        ("CMP-B", "2.00"),
        ("CMP-C", "3.00"),
    ]
    assert _columns(warehouse) == TYPES
    # The next run, a new file: merges as any other, the column stays away.
    _drop(sources, "2025-09-03", f"{HEADER}\n2025-09-01,display,CMP-B,4.00,1,1,EUR\n")
    run_system("marketing", sources, warehouse)
    assert [r[2:4] for r in _spend(warehouse)] == [
        ("CMP-A", "9.00"),
        ("CMP-B", "4.00"),
        ("CMP-C", "3.00"),
    ]
    assert _columns(warehouse) == TYPES


def test_an_amount_with_three_decimals_is_quarantined_not_the_whole_run(tmp_path):
    # DECIMAL(18,2) cannot hold 10.125: the row goes to quarantine with its reason, the
    # file's other rows (10.120 is 10.12) and the other day's load.
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    _drop(sources, "2025-09-01", f"{HEADER}\n2025-09-01,display,CMP-A,10.120,10,1,EUR\n")
    _drop(
        sources,
        "2025-09-02",
        f"{HEADER}\n2025-09-02,display,CMP-A,3.5,1,1,EUR\n2025-09-02,search,CMP-B,10.125,1,1,EUR\n",
    )
    (row,) = run_system("marketing", sources, warehouse)
    assert (row["received"], row["loaded"], row["quarantined"]) == (3, 2, 1)
    assert _spend(warehouse) == [
        ("2025-09-01", "display", "CMP-A", "10.12", 10, 1, "EUR"),
        ("2025-09-02", "display", "CMP-A", "3.50", 1, 1, "EUR"),
    ]
    ((reason, payload),) = _quarantine(warehouse)
    assert "at most 2 decimals" in reason and "10.125" in reason
    assert payload["campaign_id"] == "CMP-B"
