"""Benchmark the sandbox generator: ``python -m ingestion.sandbox.bench --customers N --days D``.

Prints one JSON document on stdout (seconds, peak RSS, rows per system); progress goes to
stderr. Peak RSS is the whole process's high-water mark, imports included, because that is
what a machine running the generator must have.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _cpu_seconds() -> float:
    # user + system time of every thread: on a shared machine it moves far less than the
    # wall clock does with the load.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 2)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def run(
    out: Path,
    customers: int,
    days: int,
    seed: int,
    start: date,
    profile: str,
    scale: float,
    advance_days: int,
) -> dict:
    from . import advance, generate

    t0, cpu0, load0 = time.perf_counter(), _cpu_seconds(), _load()
    manifest = generate(
        out, customers=customers, days=days, seed=seed, start=start, profile=profile, scale=scale
    )
    seconds = time.perf_counter() - t0
    rows = {system: sum(counts.values()) for system, counts in manifest["row_counts"].items()}
    doc = {
        "customers": customers,
        "days": days,
        "profile": profile,
        "scale": scale,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(_cpu_seconds() - cpu0, 2),
        "load_average": [load0, _load()],
        "peak_rss_mb": _peak_rss_mb(),
        "rows": rows,
        "rows_total": sum(rows.values()),
        "rows_per_second": round(sum(rows.values()) / max(seconds, 1e-9)),
        "row_counts": manifest["row_counts"],
        "output_mb": _dir_mb(out),
    }
    if advance_days:
        t0 = time.perf_counter()
        advance(out, days=advance_days)
        doc["advance"] = {
            "days": advance_days,
            "seconds": round(time.perf_counter() - t0, 2),
            "peak_rss_mb": _peak_rss_mb(),
        }
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.sandbox.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 9, 1))
    parser.add_argument("--profile", choices=["retail", "tpcds"], default="retail")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--advance-days", type=int, default=0, help="also time an advance")
    parser.add_argument("--out", help="keep the world here (default: a temporary folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    tmp = None if args.out else Path(tempfile.mkdtemp(prefix="omni-sandbox-bench-"))
    out = Path(args.out) if args.out else tmp / "world"
    try:
        doc = run(out, args.customers, args.days, args.seed, args.start, args.profile,
                  args.scale, args.advance_days)  # fmt: skip
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
