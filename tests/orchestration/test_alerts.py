"""A failed run is alerted: a log line and a JSON webhook naming the job, run, step and reason."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from orchestration.defs.alerts.sensors import alert_on_run_failure
from orchestration.defs.alerts.webhook import WEBHOOK_ENV


@dg.op
def extract_orders() -> int:
    return 3


@dg.op
def load_orders(rows: int) -> None:
    raise ValueError(f"orders table locked, {rows} rows not loaded")


@dg.job
def nightly_orders():
    load_orders(extract_orders())


@dg.asset
def orders_mart() -> None:
    return None


@dg.asset_check(asset=orders_mart, blocking=True)
def orders_have_revenue() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, metadata={"orders_without_revenue": 7})


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alerts", _Receiver.received
    finally:
        server.shutdown()
        server.server_close()


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def errors(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.ERROR]


def _evaluate_failure_sensor(instance: dg.DagsterInstance, result) -> _Collect:
    run = instance.get_run_by_id(result.run_id)
    (record,) = instance.get_records_for_run(
        run_id=result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
    ).records
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=record.event_log_entry.dagster_event,
    ).for_run_failure()
    # The sensor's own logger is what the daemon writes to the sensor's log in the UI.
    collected = _Collect()
    context.log.addHandler(collected)
    alert_on_run_failure(context)
    return collected


def test_failed_step_is_posted_to_the_webhook_and_logged(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv(WEBHOOK_ENV, url)
    with dg.instance_for_test() as instance:
        result = nightly_orders.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        log = _evaluate_failure_sensor(instance, result)

    (payload,) = received
    assert payload["job"] == "nightly_orders"
    assert payload["run_id"] == result.run_id
    assert payload["failed_steps"] == ["load_orders"]
    assert "orders table locked, 3 rows not loaded" in payload["reason"]
    assert any(
        result.run_id in m and "nightly_orders" in m and "load_orders" in m and "locked" in m
        for m in log.errors()
    )


def test_failed_blocking_check_is_named(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv(WEBHOOK_ENV, url)
    defs = dg.Definitions(
        assets=[orders_mart],
        asset_checks=[orders_have_revenue],
        jobs=[dg.define_asset_job("publish_orders", selection=[orders_mart])],
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("publish_orders").execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert not result.success
        _evaluate_failure_sensor(instance, result)

    (payload,) = received
    assert payload["failed_checks"] == ["orders_mart:orders_have_revenue"]
    assert payload["failed_steps"]


def test_a_dead_webhook_is_logged_not_raised(monkeypatch):
    # A port nobody listens on: the alert must still be logged and the sensor must not crash.
    with HTTPServer(("127.0.0.1", 0), _Receiver) as closed:
        dead_url = f"http://127.0.0.1:{closed.server_port}/alerts"
    monkeypatch.setenv(WEBHOOK_ENV, dead_url)
    with dg.instance_for_test() as instance:
        result = nightly_orders.execute_in_process(instance=instance, raise_on_error=False)
        log = _evaluate_failure_sensor(instance, result)
    messages = log.errors()
    assert any("load_orders" in m and result.run_id in m for m in messages)
    assert any(dead_url in m and "unreachable" in m for m in messages)
