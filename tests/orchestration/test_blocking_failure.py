"""A failed blocking check stops publication: `omni run` exits non-zero, names the check, and
the file BI reads stays byte-for-byte the last good one."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from run_inspection import alert_for, digest, run_id_from

PUBLISHED = ("published", "marts.duckdb")


@pytest.fixture
def broken_copy(first_run, data_dir, tmp_path):
    """A copy of the successfully published data dir, to corrupt without touching the original."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DATA_DIR", str(copy))
        patch.setenv("DAGSTER_HOME", str(copy / "dagster_home"))
        yield copy


def _corrupt_oldest_ticket(warehouse, statement: str) -> None:
    """Damage the oldest store ticket in the raw layer, as a bad value that got past
    ingestion would. It lies outside every incremental lag window, so the next run's
    loads leave it in place."""
    con = duckdb.connect(str(warehouse))
    try:
        (ticket,) = con.execute(
            "select transaction_id from raw_pos.transactions order by updated_at limit 1"
        ).fetchone()
        con.execute(statement, [ticket])
    finally:
        con.close()


def test_failed_dbt_test_keeps_last_good_file_and_fails_the_run(broken_copy, capsys):
    from orchestration.cli import EXIT_RUN_FAILED, main

    published = broken_copy.joinpath(*PUBLISHED)
    before = digest(published)
    # A till total changed in the raw layer behind dlt's back: no load brings the ticket
    # again, so the incremental fct_orders keeps the old amount, and the blocking dbt test
    # that reconciles fct_orders with its sources must catch the gap.
    _corrupt_oldest_ticket(
        broken_copy / "warehouse.duckdb",
        "update raw_pos.transactions set total_amount = -0.01 where transaction_id = ?",
    )

    exit_code = main(["run", "--sources", str(broken_copy / "sources")])

    err = capsys.readouterr().err
    assert exit_code == EXIT_RUN_FAILED, err[-3000:]
    assert "assert_fct_orders_gross_matches_sources" in err, err[-3000:]
    assert "nothing was published" in err
    assert digest(published) == before
    # A singular test with several parents is not an asset check of one model: the alert
    # names it through the failed dbt_build step's reason.
    alert = alert_for(broken_copy, run_id_from(err))
    assert "dbt_build" in alert.failed_steps
    assert "assert_fct_orders_gross_matches_sources" in alert.reason
    assert sorted(p.name for p in published.parent.iterdir()) == ["marts.duckdb"]
