"""Production Dagster keeps its runs and events in PostgreSQL: the README's dagster.yaml works."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg2
import pytest

pytestmark = pytest.mark.postgres

# The snippet documented in orchestration/README.md, verbatim.
DAGSTER_YAML = """\
storage:
  postgres:
    postgres_url:
      env: OMNI_DAGSTER_PG_URL
telemetry:
  enabled: false
"""


@dg.asset
def daily_revenue() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"net_revenue_eur": 1234.5})


@dg.op
def count_orders() -> int:
    return 42


@pytest.fixture(scope="module")
def dagster_pg_url(postgres) -> str:
    # Its own database, so Dagster's tables never mix with the POS tables of other tests.
    con = psycopg2.connect(postgres.url)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute("drop database if exists dagster_storage")
        cur.execute("create database dagster_storage")
    con.close()
    return postgres.url.rsplit("/", 1)[0] + "/dagster_storage"


@pytest.fixture
def pg_home(tmp_path, monkeypatch, dagster_pg_url) -> Path:
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML)
    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the installed driver is psycopg2.
    pg_url = dagster_pg_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    monkeypatch.setenv("OMNI_DAGSTER_PG_URL", pg_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def test_run_and_events_are_read_back_from_postgres(pg_home, dagster_pg_url):
    defs = dg.Definitions(
        assets=[daily_revenue],
        jobs=[dg.define_asset_job("revenue_job", selection=[daily_revenue])],
    )
    with dg.DagsterInstance.from_config(str(pg_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = defs.resolve_job_def("revenue_job").execute_in_process(instance=instance)
        assert result.success
        run_id = result.run_id

    # A new instance (the webserver, the daemon, tomorrow's run) sees the same history.
    with dg.DagsterInstance.from_config(str(pg_home)) as reader:
        run = reader.get_run_by_id(run_id)
        assert run.job_name == "revenue_job"
        assert run.status == dg.DagsterRunStatus.SUCCESS
        events = reader.all_logs(run_id)
        kinds = {e.dagster_event.event_type for e in events if e.dagster_event}
        assert {
            dg.DagsterEventType.RUN_START,
            dg.DagsterEventType.ASSET_MATERIALIZATION,
            dg.DagsterEventType.RUN_SUCCESS,
        } <= kinds
        materialization = reader.get_latest_materialization_event(dg.AssetKey("daily_revenue"))
        assert materialization.run_id == run_id
        metadata = materialization.asset_materialization.metadata
        assert metadata["net_revenue_eur"].value == 1234.5

    # And the rows are really in PostgreSQL, not in a SQLite file under DAGSTER_HOME.
    with psycopg2.connect(dagster_pg_url) as con, con.cursor() as cur:
        cur.execute("select pipeline_name, status from runs where run_id = %s", (run_id,))
        assert cur.fetchone() == ("revenue_job", "SUCCESS")
        cur.execute("select count(*) from event_logs where run_id = %s", (run_id,))
        assert cur.fetchone()[0] == len(events)
    assert not list(pg_home.rglob("*.db"))


def test_failed_run_is_recorded_with_its_failing_step(pg_home):
    @dg.op
    def load_orders(rows: int) -> None:
        raise RuntimeError(f"warehouse locked, {rows} orders not loaded")

    @dg.job
    def nightly_orders():
        load_orders(count_orders())

    with dg.DagsterInstance.from_config(str(pg_home)) as instance:
        result = nightly_orders.execute_in_process(instance=instance, raise_on_error=False)
    with dg.DagsterInstance.from_config(str(pg_home)) as reader:
        assert reader.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.FAILURE
        (failure,) = reader.get_records_for_run(
            run_id=result.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        ).records
        assert failure.event_log_entry.step_key == "load_orders"
