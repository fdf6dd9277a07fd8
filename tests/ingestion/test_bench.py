"""``python -m ingestion.bench``: the figures it prints are consistent with what it loaded.

Real runs on the small sandbox world: the benchmark warms the process up before timing,
reruns each pipeline for its fixed cost, and measures marketing on a scaled copy of its
drop. No timing is asserted, only what the figures must agree on.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from ingestion import bench

SCALE = 3


def _spend(warehouse: Path) -> tuple[int, int]:
    """Rows and distinct (date, channel, campaign id) keys in ``raw_marketing.spend``."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select count(*), count(distinct (date, channel, campaign_id)) from raw_marketing.spend"
        ).fetchone()


def _audit(warehouse: Path) -> list[tuple]:
    """(load id, resource, received, loaded, quarantined) of every audited load, oldest first."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select load_id, resource, received, loaded, quarantined "
            "from raw_audit.load_reconciliation order by load_id, resource"
        ).fetchall()


def _csv_rows(glob: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(
            f"select * from read_csv('{glob}', header=true, all_varchar=true, "
            "hive_partitioning=false) order by all"
        ).fetchall()


def test_scaled_marketing_repeats_every_row_under_its_own_campaign_ids(world, tmp_path):
    scaled = bench.scaled_marketing(world, SCALE, tmp_path / "scaled")

    before = sorted(p.relative_to(world / "marketing") for p in (world / "marketing").rglob("*"))
    after = sorted(p.relative_to(scaled / "marketing") for p in (scaled / "marketing").rglob("*"))
    assert after == before  # same partitions and files
    original = _csv_rows(f"{world}/marketing/dt=*/spend*.csv")
    copies = _csv_rows(f"{scaled}/marketing/dt=*/spend*.csv")
    assert len(copies) == SCALE * len(original)
    # Every copy is its original row, values as text exactly (e.g. "1914.90"), under the
    # original campaign id with a copy number: date, channel, campaign id remain a key.
    back = sorted((d, ch, cid.rsplit("-", 1)[0], *rest) for d, ch, cid, *rest in copies)
    assert back == sorted(original * SCALE)
    assert len({(d, ch, cid) for d, ch, cid, *_ in copies}) == len(copies)
    assert {cid.rsplit("-", 1)[1] for _, _, cid, *_ in copies} == {"0", "1", "2"}


def _figures(ratio: float, floor_ratio: float | None = None) -> dict:
    return {"ratio": ratio, **({"floor_ratio": floor_ratio} if floor_ratio else {})}


def test_targets_excuse_only_a_source_below_dlts_floor():
    result = {
        "sources": {"marketing": _figures(7.4, 4.9), "pos": _figures(1.6)},
        "rest": {"crm": {"records_per_s": 30_000}},
    }
    targets = bench.targets(result)
    assert targets["below_dlt_floor"] == ["marketing"]
    assert (targets["met"], targets["met_where_reachable"]) == (False, True)
    # A source over the ratio with a floor under it, or a slow REST source, is a miss.
    result["sources"]["clickstream"] = _figures(2.1, 1.2)
    assert bench.targets(result)["met_where_reachable"] is False
    del result["sources"]["clickstream"]
    result["rest"]["ecommerce"] = {"records_per_s": 19_999}
    assert bench.targets(result)["met_where_reachable"] is False


def test_bench_reports_warm_up_fixed_cost_and_marketing_at_volume(
    world, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("OMNI_DATA_DIR", str(tmp_path))
    files_before = sorted(str(p) for p in world.rglob("*"))

    argv = ["--sources", str(world), "--only", "marketing,pos", "--keep"]
    assert bench.main([*argv, "--marketing-scale", str(SCALE)]) == 0
    result = json.loads(capsys.readouterr().out)

    # The cold first run is reported, not hidden, and is part of the warm-up.
    assert result["process_warm_up_seconds"] > 0
    assert 0 < result["cold_marketing_dlt_seconds"] <= result["process_warm_up_seconds"]
    sources = result["sources"]
    assert list(sources) == ["marketing", f"marketing_x{SCALE}", "pos"]
    for label, figures in sources.items():
        # Both contenders read the same records.
        assert figures["records"] == figures["duckdb_rows"] > 0, label
        assert figures["fixed_seconds"] > 0, label
        assert set(figures["fixed_step_seconds"]) == {"extract", "normalize", "load"}, label
    marketing, scaled = sources["marketing"], sources[f"marketing_x{SCALE}"]
    assert scaled["records"] == SCALE * marketing["records"]
    # dlt's floor landed the same rows, for marketing and its scaled copy only; a source is
    # named below the floor exactly when the bare pipeline alone is over the target ratio.
    for label in ("marketing", f"marketing_x{SCALE}"):
        assert sources[label]["dlt_floor_rows"] == sources[label]["records"], label
        assert sources[label]["dlt_floor_seconds"] > 0, label
    assert "dlt_floor_seconds" not in sources["pos"]
    assert result["targets"]["below_dlt_floor"] == [
        label for label, figures in sources.items() if figures.get("floor_ratio", 0) > 2.0
    ]
    # The reruns found no new file; POS re-read only its lag window.
    assert marketing["fixed_records"] == scaled["fixed_records"] == 0
    assert 0 < sources["pos"]["fixed_records"] < sources["pos"]["records"]

    work = next(tmp_path.glob("bench_*"))
    # The scaled load merged every copy as a row of its own, and every load reconciles.
    rows, keys = _spend(work / "dlt_marketing" / "warehouse.duckdb")
    assert rows == keys == marketing["records"]
    assert _spend(work / f"dlt_marketing_x{SCALE}" / "warehouse.duckdb") == (
        SCALE * rows,
        SCALE * rows,
    )
    for label in sources:
        audit = _audit(work / f"dlt_{label}" / "warehouse.duckdb")
        assert len({load_id for load_id, *_ in audit}) == 2, label  # the run and its rerun
        assert all(received == loaded + quarantined for *_, received, loaded, quarantined in audit)
        first_load = audit[0][0]
        received = sum(r for load_id, _, r, _, _ in audit if load_id == first_load)
        assert received == sources[label]["records"], label
    # The scaled copy was written in the benchmark's work dir, never into --sources.
    assert sorted(str(p) for p in world.rglob("*")) == files_before
