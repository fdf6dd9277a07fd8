"""Each kind of failure the monitoring checks guard, injected into a real run of the shared
small world: what `omni run` prints and returns, what is published, what the alert says.

GX expectations, blocking dbt tests and load reconciliation have their own tests
(test_blocking_failure.py, test_dbt_results.py, test_full_run.py); this module adds a
volume drop (warns, still publishes), a stale source and a staging → marts gap (both
block). Each test works on a copy of the first run's data dir, so the runs are independent.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from run_inspection import alert_for, digest, evaluations, run_id_from

REPO_ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ("published", "marts.duckdb")


@pytest.fixture
def copy(first_run, data_dir, tmp_path, monkeypatch) -> Path:
    """The first run's data dir (sources, warehouse, published file, Dagster history)."""
    target = tmp_path / "data"
    shutil.copytree(data_dir, target)
    monkeypatch.setenv("OMNI_DATA_DIR", str(target))
    monkeypatch.setenv("DAGSTER_HOME", str(target / "dagster_home"))
    monkeypatch.delenv("OMNI_AS_OF", raising=False)
    _age_landed_files(target / "sources")
    return target


def _age_landed_files(sources: Path) -> None:
    """Put the copied landing files just behind dlt's file cursor (`modification_date`).

    The cursor re-reads files stamped exactly at its boundary unless it saw them at the
    same URL, and the copy has new URLs: without this, the run would reload the newest day
    of every landing folder and count it as delivered.
    """
    for system in ("clickstream", "messaging", "marketing"):
        for path in (sources / system).rglob("*"):
            if path.is_file():
                stat = path.stat()
                os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 1_000_000_000))


def _advance(sources: Path, days: int) -> list[str]:
    """Move the sandbox on; returns the new business days."""
    from ingestion.sandbox import advance

    before = json.loads((sources / "_truth" / "manifest.json").read_text())["end_date"]
    manifest = advance(sources, days)
    new_days = sorted(
        p.name.removeprefix("dt=")
        for p in (sources / "marketing").glob("dt=*")
        if p.name.removeprefix("dt=") > before
    )
    assert len(new_days) == days and new_days[-1] == manifest["end_date"]
    return new_days


def _keep_share(partition: Path, share: float) -> tuple[int, int]:
    """Cut every file of a landing partition to its first `share` of lines (a partial export)."""
    total = kept = 0
    for path in sorted(partition.glob("*.jsonl.gz")):
        lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
        keep = lines[: math.ceil(len(lines) * share)]
        path.write_bytes(gzip.compress(b"".join(keep)))
        total, kept = total + len(lines), kept + len(keep)
    return kept, total


def _orders(published: Path) -> int:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{published}' as bi (read_only)")
        return con.execute("select count(*) from bi.marts.fct_orders").fetchone()[0]
    finally:
        con.close()


def test_volume_drop_warns_and_the_run_still_publishes(copy, capsys):
    from orchestration.cli import EXIT_OK, main

    published = copy.joinpath(*PUBLISHED)
    before, orders_before = digest(published), _orders(published)
    (new_day,) = _advance(copy / "sources", days=1)
    kept, total = _keep_share(copy / "sources" / "clickstream" / f"dt={new_day}", 0.05)
    assert 0 < kept < total * 0.1

    exit_code = main(["run", "--sources", str(copy / "sources")])

    out, err = capsys.readouterr()
    assert exit_code == EXIT_OK, err[-3000:]
    warnings = [line for line in err.splitlines() if "non-blocking check failed" in line]
    # The cut source warns; every other source had an ordinary day after the first load.
    assert [w for w in warnings if "volume_" in w] == [
        "warning: non-blocking check failed: raw_clickstream/events:volume_clickstream"
    ]
    volume = evaluations(copy, run_id_from(out))["volume_clickstream"]
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.WARN
    assert volume.metadata["delivered"].value == kept
    assert volume.metadata["ratio"].value < 0.2
    assert f"delivered {kept} records" in volume.description
    # A new file with the new day, not the last good one.
    assert digest(published) != before
    assert _orders(published) > orders_before


def test_stale_source_fails_the_run_keeps_the_file_and_is_alerted(copy, capsys):
    from orchestration.cli import EXIT_RUN_FAILED, main

    published = copy.joinpath(*PUBLISHED)
    before = digest(published)
    # Three days go by in which the marketing platform exports nothing.
    for day in _advance(copy / "sources", days=3):
        shutil.rmtree(copy / "sources" / "marketing" / f"dt={day}")

    exit_code = main(["run", "--sources", str(copy / "sources")])

    err = capsys.readouterr().err
    assert exit_code == EXIT_RUN_FAILED, err[-3000:]
    assert "  - raw_marketing/spend:freshness_marketing: marketing is silent: newest " in err
    assert "is 72 h old (limit 48 h" in err
    assert "warning: non-blocking check failed: raw_marketing/spend:volume_marketing" in err
    assert "nothing was published" in err
    assert digest(published) == before
    # The other sources kept delivering: their freshness passed.
    checks = evaluations(copy, run_id_from(err))
    assert [n for n, e in checks.items() if n.startswith("freshness_") and not e.passed] == [
        "freshness_marketing"
    ]
    alert = alert_for(copy, run_id_from(err))
    # The alert names the blocking check as the failure; the volume warning is context.
    assert alert.failed_checks == ["raw_marketing/spend:freshness_marketing"]
    assert "raw_marketing/spend:volume_marketing" in alert.warnings
    assert "Failed checks: raw_marketing/spend:freshness_marketing" in alert.log_line()
    assert alert.job == "omni_full_run"
    assert "monitor_marketing" in alert.failed_steps


def _dbt_project_dropping_identity(target: Path, source_record_id: str) -> Path:
    """A copy of the dbt project whose customer_identities loses one conversation record:
    the kind of join bug that no dbt test on the mart itself catches."""
    from orchestration.lib.dbt_project import DBT_PROJECT_DIR

    shutil.copytree(
        DBT_PROJECT_DIR, target, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    customers = target / "models" / "marts" / "customers"
    (customers / "customer_identities.sql").rename(customers / "customer_identities_all.sql")
    (customers / "customer_identities.sql").write_text(
        "select * from {{ ref('customer_identities_all') }}\n"
        f"where not (source_entity = 'conversations' and source_record_id = '{source_record_id}')\n"
    )
    return target


def test_marts_reconciliation_gap_fails_the_run_and_names_the_missing_record(
    copy, tmp_path, warehouse_row
):
    published = copy.joinpath(*PUBLISHED)
    before = digest(published)
    (victim,) = warehouse_row(
        "select min(source_record_id) from customer_identities "
        "where source_entity = 'conversations'"
    )
    project = _dbt_project_dropping_identity(tmp_path / "dbt_project", victim)
    # A separate process: the dbt project's location is fixed when the definitions load.
    env = {
        **os.environ,
        "OMNI_DBT_PROJECT_DIR": str(project),
        "OMNI_DATA_DIR": str(copy),
        "DAGSTER_HOME": str(copy / "dagster_home"),
    }
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from orchestration.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "run", "--sources", str(copy / "sources")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip

    assert done.returncode == 1, done.stderr[-3000:]
    assert "  - marts/customer_identities:marts_reconciliation_identities: 1 of " in done.stderr, (
        done.stderr[-3000:]
    )
    assert f"messaging.conversations missing e.g. {victim}" in done.stderr
    assert digest(published) == before
    run_id = run_id_from(done.stderr)
    check = evaluations(copy, run_id)["marts_reconciliation_identities"]
    per_source = check.metadata["per_source"].value
    assert per_source["messaging.conversations"]["missing_sample"] == [victim]
    assert per_source["messaging.conversations"]["in_marts"] == (
        per_source["messaging.conversations"]["in_staging"] - 1
    )
    alert = alert_for(copy, run_id)
    assert "marts/customer_identities:marts_reconciliation_identities" in alert.failed_checks
    assert any("marts_reconciliation_identities" in step for step in alert.failed_steps)
