"""The garbage collector runs less often while a pipeline runs, and as before once it ends
(``pipelines.collector_paced``, entered by ``system_load`` for ``run_system`` and the
Dagster assets alike)."""

from __future__ import annotations

import gc
import threading

import pytest

from ingestion import pipelines
from ingestion.pipelines import RUN_GC_THRESHOLD, collector_paced, run_system
from ingestion.sandbox import SHOP_TOKEN, SandboxServer


@pytest.fixture
def default_thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*saved)


def test_a_shop_run_extracts_with_the_raised_threshold_and_restores_it(
    world, tmp_path, monkeypatch, default_thresholds
):
    seen: list[tuple[int, int, int]] = []
    make_source = pipelines.make_source

    def watched_source(*args, **kwargs):
        source = make_source(*args, **kwargs)
        source.resources["orders"].add_map(lambda item: seen.append(gc.get_threshold()) or item)
        return source

    monkeypatch.setattr(pipelines, "make_source", watched_source)
    with SandboxServer(world, port=0, fault_rate=0.0) as server:
        endpoints = {"ecommerce": {"base_url": server.base_url, "access_token": SHOP_TOKEN}}
        rows = run_system("ecommerce", world, tmp_path / "warehouse.duckdb", endpoints)

    assert seen and set(seen) == {(RUN_GC_THRESHOLD, 10, 10)}
    assert gc.get_threshold() == default_thresholds
    orders = next(r for r in rows if r["resource"] == "orders")
    assert orders["received"] > 0
    assert all(r["received"] == r["loaded"] + r["quarantined"] for r in rows)


def test_a_failed_run_restores_the_thresholds(default_thresholds):
    with pytest.raises(RuntimeError), collector_paced():
        assert gc.get_threshold() == (RUN_GC_THRESHOLD, 10, 10)
        raise RuntimeError("the pipeline failed")
    assert gc.get_threshold() == default_thresholds


def test_a_higher_threshold_set_by_the_process_is_kept(default_thresholds):
    gc.set_threshold(50_000, 20, 20)
    with collector_paced():
        assert gc.get_threshold() == (50_000, 20, 20)
    assert gc.get_threshold() == (50_000, 20, 20)


def test_overlapping_runs_restore_the_thresholds_when_the_last_ends(default_thresholds):
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    during_second: list[tuple[int, int, int]] = []

    def second_run() -> None:
        first_in.wait(5)
        with collector_paced():
            second_in.set()
            first_out.wait(5)
            during_second.append(gc.get_threshold())

    thread = threading.Thread(target=second_run)
    thread.start()
    with collector_paced():
        first_in.set()
        second_in.wait(5)
    first_out.set()
    thread.join(5)

    # The first run ended while the second still ran: the second kept the raised threshold.
    assert during_second == [(RUN_GC_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == default_thresholds
