"""Measure identity resolution against the sandbox's ground truth, end to end.

    python -m orchestration.lib.identity_eval --customers 10000 --days 28 [--seed 7]
        [--mess-multiplier 2] [--data-dir DIR] [--reuse] [--no-tests] [--dbt-threads N]

Generates a world, loads it with the real dlt pipelines, builds the identity marts
(``dbt build -s +customer_identities +customer_identifiers``: staging views, identity models
and every test on them; ``--no-tests``: ``dbt run``, the models alone) and prints one JSON
document on stdout: the seconds of every identity model and the total of models and of tests
(from dbt's ``run_results.json``), dbt's whole wall time (with start-up and parsing), peak RSS
and the load average; progress goes to stderr. ``--reuse`` skips generation and
ingestion when DIR already holds a loaded warehouse, to re-measure the dbt side alone
(``OMNI_DBT_PROJECT_DIR`` picks another copy of the dbt project, e.g. a baseline).
Pairs are counted from cluster sizes (sum of C(n, 2)) over the records present in both the
truth and the mart, so a record the mart leaves anonymous changes the resolved share, not
precision or recall.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.dbt_project import DBT_PROJECT_DIR, dbt_executable
from orchestration.lib.resource_meter import ResourceMeter

log = logging.getLogger("identity_eval")
RECORD = ["source_system", "source_entity", "source_record_id"]


def mess_params(multiplier: float):
    """World parameters with every identity mess rate scaled (capped at 1)."""
    from ingestion.sandbox.params import MessRates, WorldParams

    base = MessRates()
    scaled = {
        f.name: min(1.0, getattr(base, f.name) * multiplier) for f in dataclasses.fields(base)
    }
    return WorldParams(mess=MessRates(**scaled))


def pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def score(truth: pd.DataFrame, resolved: pd.DataFrame) -> dict:
    """Pairwise precision/recall/F1 of ``resolved`` (customer_id per record) vs ``truth``."""
    truth = truth.astype({c: str for c in RECORD})
    resolved = resolved.astype({c: str for c in RECORD})
    joined = truth.merge(resolved[[*RECORD, "customer_id"]], on=RECORD, how="inner")
    same_both = pairs(joined.groupby(["customer_id", "person_id"]).size())
    same_predicted = pairs(joined.groupby("customer_id").size())
    same_true = pairs(joined.groupby("person_id").size())
    precision = same_both / same_predicted if same_predicted else 1.0
    recall = same_both / same_true if same_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    cluster_sizes = resolved.groupby("customer_id").size()
    return {
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "truth_records": len(truth),
        "truth_people": int(truth["person_id"].nunique()),
        "resolved_records": len(joined),
        "records_resolved_share": round(len(joined) / len(truth), 5) if len(truth) else 0.0,
        "resolved_customers": int(cluster_sizes.size),
        "people_among_resolved": int(joined["person_id"].nunique()),
        "largest_cluster_size": int(cluster_sizes.max()) if cluster_sizes.size else 0,
        "cluster_size_p99": float(cluster_sizes.quantile(0.99)) if cluster_sizes.size else 0.0,
    }


def build_identity(
    data_dir: Path, tests: bool = True, threads: int | None = None
) -> tuple[subprocess.CompletedProcess, float, float, float]:
    """``dbt build`` (or ``run``) of the identity marts; returns the result, wall seconds,
    peak RSS (MB) and CPU seconds of dbt."""
    env = {
        **os.environ,
        "OMNI_DATA_DIR": str(data_dir),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [
        dbt_executable(),
        "build" if tests else "run",
        "-s",
        "+customer_identities",
        "+customer_identifiers",
        # Only tests whose every parent is selected: relationship tests from staging models
        # outside the identity graph would point at tables this build does not create.
        "--indirect-selection",
        "cautious",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(data_dir / "identity_eval_target"),
        "--log-path",
        str(data_dir / "identity_eval_logs"),
        # At a million customers two big models side by side fight over DuckDB's one memory
        # limit and spill; one at a time (each query still on every core) may finish sooner.
        *(["--threads", str(threads)] if threads else []),
    ]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with ResourceMeter() as meter:
        started = time.time()
        result = subprocess.run(
            command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True
        )
        seconds = time.time() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds are what a loaded shared machine distorts least: compare those between runs.
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return result, round(seconds, 1), meter.peak_mb(started), round(cpu, 1)


def build_seconds(target_path: Path) -> dict[str, float]:
    """Seconds of the last build by kind of node (model, test, ...) and dbt's own elapsed
    time (without start-up and parsing)."""
    run_results = json.loads((target_path / "run_results.json").read_text())
    totals: dict[str, float] = {}
    for result in run_results["results"]:
        kind = result["unique_id"].split(".")[0]
        totals[f"{kind}s_seconds"] = totals.get(f"{kind}s_seconds", 0.0) + result["execution_time"]
    return {
        "dbt_elapsed_seconds": round(run_results["elapsed_time"], 1),
        **{kind: round(seconds, 1) for kind, seconds in sorted(totals.items())},
    }


def model_seconds(target_path: Path) -> dict[str, float]:
    """Seconds per identity model of the last build, slowest first (dbt's run_results)."""
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    models = {
        r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
        for r in results
        if r["unique_id"].startswith("model.")
        and (
            "identit" in r["unique_id"]
            or "identifier" in r["unique_id"]
            or "customer" in r["unique_id"]
        )
    }
    return dict(sorted(models.items(), key=lambda item: -item[1]))


def evaluate(
    data_dir: Path,
    customers: int,
    days: int,
    seed: int,
    mess_multiplier: float,
    reuse: bool,
    tests: bool = True,
    threads: int | None = None,
) -> dict:
    from ingestion.pipelines import run_ingestion
    from ingestion.sandbox import generate

    sources = data_dir / "sources"
    warehouse = data_dir / "warehouse.duckdb"
    os.environ["OMNI_DATA_DIR"] = str(data_dir)
    timings: dict[str, float] = {}

    if reuse and warehouse.exists():
        log.info("reusing the sources and warehouse already in %s", data_dir)
    else:
        log.info(
            "generating %d customers x %d days (seed %d, mess x%s) in %s",
            customers,
            days,
            seed,
            mess_multiplier,
            sources,
        )
        started = time.time()
        generate(sources, customers, days, seed, params=mess_params(mess_multiplier))
        timings["generate_seconds"] = round(time.time() - started, 1)

        log.info("ingesting the sources into %s", warehouse)
        started = time.time()
        run_ingestion(sources, warehouse)
        timings["ingest_seconds"] = round(time.time() - started, 1)

    log.info("dbt %s of the identity marts", "build" if tests else "run")
    load_before = os.getloadavg()
    result, seconds, peak_mb, cpu_seconds = build_identity(data_dir, tests, threads)
    load_after = os.getloadavg()
    if result.returncode != 0:
        log.error("dbt build failed:\n%s", result.stdout[-6000:])
        raise SystemExit(result.returncode)
    log.info("identity build took %.1f s, peak RSS %.0f MB", seconds, peak_mb)

    truth = pd.read_parquet(sources / "_truth" / "identities.parquet")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        resolved = con.sql(
            f"select distinct customer_id, {', '.join(RECORD)} from marts.customer_identities"
        ).df()
    return {
        "customers": customers,
        "days": days,
        "seed": seed,
        "mess_multiplier": mess_multiplier,
        **score(truth, resolved),
        "identity_build": "dbt build (models and tests)" if tests else "dbt run (models)",
        "dbt_threads": threads or "profile",
        "identity_build_seconds": seconds,
        "identity_build_cpu_seconds": cpu_seconds,
        "identity_build_peak_rss_mb": peak_mb,  # dbt plus this measuring process
        **build_seconds(data_dir / "identity_eval_target"),
        "identity_model_seconds": model_seconds(data_dir / "identity_eval_target"),
        "load_average_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        **timings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mess-multiplier", type=float, default=1.0)
    parser.add_argument("--data-dir", type=Path, help="default: a fresh temporary folder")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip generation and ingestion if DIR already holds a loaded warehouse",
    )
    parser.add_argument(
        "--no-tests", action="store_true", help="dbt run instead of build: the models alone"
    )
    parser.add_argument(
        "--dbt-threads", type=int, help="dbt's --threads (default: the profile's, 2)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="identity_eval_"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    report = evaluate(
        data_dir,
        args.customers,
        args.days,
        args.seed,
        args.mess_multiplier,
        args.reuse,
        tests=not args.no_tests,
        threads=args.dbt_threads,
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
