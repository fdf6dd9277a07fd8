"""Identity-graph health checks: a giant cluster stops publication; the healthy run records
its cluster-size distribution for the next run to compare with."""

from __future__ import annotations

import hashlib
import shutil

import duckdb
import pytest

LARGEST = "marts/customer_identities:identity_largest_cluster"
SHIFT = "marts/customer_identities:identity_cluster_size_shift"


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def merged_copy(first_run, data_dir, tmp_path):
    """A copy of the published data dir where many old store tickets carry one loyalty
    card, as if a till had a card stuck in its reader: every ticket owner (known by the
    receipt email or the payment card) is glued to the card's owner. Old tickets lie
    outside the POS lag window, so the rerun keeps them."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    con = duckdb.connect(str(copy / "warehouse.duckdb"))
    try:
        (glued,) = con.execute(
            """
            update raw_pos.transactions set loyalty_card = (
                select min(loyalty_card) from raw_pos.transactions
                where coalesce(loyalty_card, '') <> '')
            where (receipt_email like '%@%' or coalesce(card_fingerprint, '') <> '')
              and updated_at < (select max(updated_at) - interval 7 day from raw_pos.transactions)
            """
        ).fetchone()
    finally:
        con.close()
    assert glued >= 10, "the world has too few old tickets with an email or a card to glue together"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DATA_DIR", str(copy))
        patch.setenv("DAGSTER_HOME", str(copy / "dagster_home"))
        yield copy


def test_healthy_graph_passes_and_records_its_distribution(first_run, warehouse_row) -> None:
    assert LARGEST not in first_run.failed_checks
    (largest_accounts,) = warehouse_row(
        "select max(n) from (select customer_id, count(*) filter (where source_entity in "
        "('contacts', 'customers', 'loyalty_accounts')) as n "
        "from customer_identities group by customer_id)"
    )
    assert (
        f"most account records in one customer: {largest_accounts} "
        in (first_run.check_descriptions[LARGEST])
    )
    assert largest_accounts <= 8
    assert first_run.check_descriptions[SHIFT].startswith(
        ("first run", "cluster-size distribution moved")
    )


def test_giant_cluster_fails_the_blocking_check_and_is_not_published(merged_copy) -> None:
    from orchestration.lib.runner import run_full_pipeline

    published = merged_copy / "published" / "marts.duckdb"
    before = _digest(published)

    outcome = run_full_pipeline(sources_dir=merged_copy / "sources")

    assert LARGEST in outcome.failed_checks
    description = outcome.check_descriptions[LARGEST]
    accounts = int(description.split("most account records in one customer: ")[1].split()[0])
    assert accounts > 8, description
    assert not outcome.published
    assert _digest(published) == before
    # The healthy first run's distribution was kept and compared with this one's.
    assert "since the last run" in outcome.check_descriptions[SHIFT]


def test_distribution_shift_is_total_variation_between_bucket_shares() -> None:
    from orchestration.defs.quality.identity import distribution_shift, size_distribution

    before = size_distribution([(1, 50), (2, 30), (4, 20)])
    assert before == {"1": 0.5, "2": 0.3, "3-5": 0.2}
    after = size_distribution([(1, 30), (2, 30), (4, 20), (300, 20)])
    assert after == {"1": 0.3, "2": 0.3, "3-5": 0.2, "101+": 0.2}
    assert distribution_shift(after, before) == pytest.approx(0.2)
