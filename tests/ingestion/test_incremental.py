"""After the world moves on, an incremental run picks up what changed and what is new."""

from __future__ import annotations

import shutil

import pytest
from ingest_helpers import ALL, copy_load, distinct_keys, query, truth_counts

from ingestion import sandbox
from ingestion.pipelines import run_ingestion

if not hasattr(sandbox, "advance"):
    pytest.skip("ingestion.sandbox.advance is not available yet", allow_module_level=True)


@pytest.fixture(scope="session")
def advanced(first_load, tmp_path_factory):
    root = tmp_path_factory.mktemp("advanced")
    sources = root / "sources"
    shutil.copytree(first_load.sources, sources)
    warehouse = copy_load(first_load, root / "wh")
    sandbox.advance(sources, days=3)
    rows = run_ingestion(sources, warehouse)
    return sources, warehouse, rows


def test_incremental_run_reaches_the_new_sandbox_counts(advanced, first_load):
    sources, warehouse, rows = advanced
    expected = truth_counts(sources)
    before = truth_counts(first_load.sources)
    grew = [k for k in ALL if expected[k] > before[k]]
    assert ("clickstream", "events") in grew and ("ecommerce", "orders") in grew
    for system, resource in ALL:
        assert distinct_keys(warehouse, system, resource) == (
            expected[(system, resource)],
            expected[(system, resource)],
        ), f"{system}.{resource}"
    for row in rows:
        assert row["received"] == row["loaded"] + row["quarantined"], row


def test_updated_records_carry_their_new_version(advanced, first_load):
    _, warehouse, _ = advanced
    # Contacts updated by the advance show an updated_at later than anything loaded first.
    (first_max,) = query(first_load.warehouse, "select max(updated_at) from raw_crm.contacts")[0]
    old_updated = query(
        warehouse,
        "select count(*) from raw_crm.contacts where updated_at > ? and created_at <= ?",
        first_max,
        first_max,
    )[0][0]
    assert old_updated > 0


def test_second_run_reads_only_the_lines_of_recently_updated_tickets(first_load, second_load):
    """transaction_lines follow their tickets' updated_at (lag window included), so an
    unchanged POS database does not resend every line, and none is lost."""

    def lines(load):
        return next(
            r["received"]
            for r in load.rows
            if (r["source_system"], r["resource"]) == ("pos", "transaction_lines")
        )

    (window,) = query(
        first_load.warehouse,
        "select count(*) from raw_pos.transaction_lines l join raw_pos.transactions t "
        "using (transaction_id) where t.updated_at >= "
        "(select max(updated_at) from raw_pos.transactions) - interval 3 day",
    )[0]
    (all_lines,) = query(first_load.warehouse, "select count(*) from raw_pos.transaction_lines")[0]
    assert lines(first_load) == all_lines
    assert 0 < lines(second_load) == window < all_lines
