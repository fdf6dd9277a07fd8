"""A bad batch from a source stops the run at its raw suite: `omni run` fails naming
`gx_raw_…`, and the file BI reads stays byte-for-byte the last good one."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from run_inspection import alert_for, digest, run_id_from


@pytest.fixture
def bad_till_copy(first_run, data_dir, tmp_path):
    """A copy of the published data dir whose POS database took the newest ticket in an
    unknown payment method: a value ingestion loads (it is text) but the suite rejects."""
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    con = sqlite3.connect(copy / "sources" / "pos" / "pos.sqlite")
    try:
        (ticket,) = con.execute(
            "select transaction_id from transactions order by updated_at desc limit 1"
        ).fetchone()
        con.execute(
            "update transactions set payment_method = 'barter' where transaction_id = ?",
            [ticket],
        )
        con.commit()
    finally:
        con.close()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DATA_DIR", str(copy))
        patch.setenv("DAGSTER_HOME", str(copy / "dagster_home"))
        yield copy, ticket


def test_a_bad_raw_batch_fails_the_run_and_keeps_the_published_file(bad_till_copy, capsys):
    from orchestration.cli import EXIT_RUN_FAILED, main

    copy, ticket = bad_till_copy
    published = copy / "published" / "marts.duckdb"
    before = digest(published)

    exit_code = main(["run", "--sources", str(copy / "sources")])

    err = capsys.readouterr().err
    assert exit_code == EXIT_RUN_FAILED, err[-3000:]
    assert "raw_pos/transactions:gx_raw_pos_transactions" in err, err[-3000:]
    assert "expect_column_values_to_be_in_set(payment_method)" in err
    assert ticket in err  # the failing row is named in the log
    assert "nothing was published" in err
    assert digest(published) == before
    alert = alert_for(copy, run_id_from(err))
    assert alert.failed_checks == ["raw_pos/transactions:gx_raw_pos_transactions"]
    assert "gx_raw_pos" in " ".join(alert.failed_steps)
    assert sorted(p.name for p in published.parent.iterdir()) == ["marts.duckdb"]
