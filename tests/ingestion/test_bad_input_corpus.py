"""Every kind of bad input lands in quarantine with a reason naming the problem, the good
records around it still load, and each resource reconciles: received = loaded + quarantined.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import datetime

import pytest
from bad_input import CASES, NEW_COLUMN, UNKNOWN_SKU_LINE, craft
from ingest_helpers import ALL, PRIMARY_KEYS, query

from ingestion.pipelines import dataset_name, make_pipeline, run_ingestion


@pytest.fixture(scope="module")
def corpus(first_load, tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    sources = root / "sources"
    shutil.copytree(first_load.sources, sources)
    good = craft(sources)
    warehouse = root / "wh" / "warehouse.duckdb"
    rows = run_ingestion(sources, warehouse)
    return warehouse, rows, good


def test_the_corpus_has_at_least_20_kinds():
    assert len({case.kind for case in CASES}) >= 20


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind.replace(" ", "_"))
def test_each_kind_is_quarantined_with_a_reason_naming_it(corpus, case):
    warehouse, *_ = corpus
    found = query(
        warehouse,
        f"select reason, payload from {dataset_name(case.system)}._quarantine "
        "where resource = ? and contains(payload, ?)",
        case.resource,
        case.marker,
    )
    assert len(found) == 1, f"{case.kind}: expected one quarantine row, got {found}"
    reason, payload = found[0]
    assert case.reason in reason, f"{case.kind}: reason {reason!r}"
    assert isinstance(json.loads(payload), dict | list)


def test_quarantine_counts_are_exactly_the_corpus(corpus):
    _, rows, _ = corpus
    expected = Counter((c.system, c.resource) for c in CASES)
    got = {(r["source_system"], r["resource"]): r["quarantined"] for r in rows}
    assert got == {key: expected.get(key, 0) for key in ALL}


def test_good_records_around_the_bad_ones_load(corpus, first_load):
    warehouse, _, good = corpus
    for system, resource in ALL:
        keys = ", ".join(PRIMARY_KEYS[(system, resource)])
        sql = f"select {keys} from {dataset_name(system)}.{resource}"
        before = set(query(first_load.warehouse, sql))
        after = set(query(warehouse, sql))
        assert before <= after, f"{system}.{resource} lost clean records"
        extra = {tuple(str(v) if isinstance(v, datetime) else v for v in k) for k in after - before}
        extra = {tuple(str(v) for v in k) if system == "marketing" else k for k in extra}
        assert extra == good.get((system, resource), set()), f"{system}.{resource}"


def test_every_resource_reconciles(corpus):
    warehouse, rows, _ = corpus
    for row in rows:
        assert row["received"] == row["loaded"] + row["quarantined"], row
    (broken,) = query(
        warehouse,
        "select count(*) from raw_audit.load_reconciliation where received <> loaded + quarantined",
    )[0]
    assert broken == 0


def test_a_duplicate_id_keeps_its_later_version(corpus):
    warehouse, *_ = corpus
    rows = query(warehouse, "select page_url from raw_clickstream.events where event_id = 'qa-dup'")
    assert rows == [("/qa-dup-new",)]


def test_a_new_upstream_column_is_loaded_and_reported(corpus, first_load):
    warehouse, *_ = corpus
    table, column = NEW_COLUMN
    loaded = query(
        warehouse, f"select {column} from raw_clickstream.{table} where {column} is not null"
    )
    assert loaded == [("Pixel 9",)]
    reported = query(
        warehouse,
        "select source_system, table_name, column_name from raw_audit.schema_changes",
    )
    # The renamed field arrived only on a quarantined record, so only the new one is reported.
    assert reported == [("clickstream", table, column)]
    (clean,) = query(
        first_load.warehouse,
        "select count(*) from information_schema.tables where table_schema = 'raw_audit' "
        "and table_name = 'schema_changes'",
    )[0]
    assert clean == 0, "a clean world must report no schema change"


def test_an_unknown_sku_is_loaded_and_flagged(corpus):
    warehouse, *_ = corpus
    flags = query(
        warehouse,
        "select source_system, resource, record_key, reason from raw_audit.reference_flags",
    )
    assert [f[:3] for f in flags] == [("pos", "transaction_lines", UNKNOWN_SKU_LINE)]
    assert "unknown SKU 'SKU-QA-UNKNOWN'" in flags[0][3]


def test_bad_cursors_do_not_move_the_incremental_state(corpus):
    warehouse, *_ = corpus
    for system, resource in (("crm", "contacts"), ("pos", "transactions")):
        state = make_pipeline(system, warehouse).state["sources"][system]["resources"][resource]
        last = state["incremental"]["updated_at"]["last_value"]
        assert str(last).startswith("2025-"), f"{system}.{resource} cursor moved to {last}"
