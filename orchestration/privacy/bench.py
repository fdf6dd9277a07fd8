"""Benchmark of erasure: ``omni forget`` seconds on a finished run, and what the suppression
step costs the pipelines per row.

    python -m orchestration.privacy.bench --data-dir DIR [--people 3]

``DIR`` is an ``OMNI_DATA_DIR`` after a successful ``omni run``; it is copied, never changed.
Progress on stderr, one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from ingestion.privacy import PERSON_FIELDS, Blocklist, erased_mask, load_blocklist


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _people(warehouse: Path, n: int) -> list[str]:
    """Customers with the most orders and an email only they use: the heaviest requests."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            """
            select o.customer_id
            from marts.fct_orders as o
            join marts.customer_identifiers as i using (customer_id)
            where i.identifier_type = 'email' and i.is_used_for_matching
            group by o.customer_id
            order by count(distinct o.order_id) desc, o.customer_id
            limit ?
            """,
            [n],
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def _suppression_cost(warehouse: Path, blocklist: Blocklist) -> dict[str, dict]:
    """Seconds the suppression step spends on every raw table of people's records, read
    back from the warehouse as one Arrow table each (what a page is, only bigger)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    out = {}
    try:
        for system, resources in PERSON_FIELDS.items():
            for resource in resources:
                table = con.execute(f"select * from raw_{system}.{resource}").to_arrow_table()
                started = time.perf_counter()
                erased_mask(system, resource, table, blocklist)
                seconds = time.perf_counter() - started
                out[f"{system}.{resource}"] = {
                    "rows": table.num_rows,
                    "seconds": round(seconds, 3),
                    "us_per_row": round(1e6 * seconds / max(table.num_rows, 1), 2),
                }
    finally:
        con.close()
    return out


def run(data_dir: Path, people: int) -> dict:
    from orchestration.privacy.forget import forget

    work = Path(tempfile.mkdtemp(prefix="omni_forget_bench_"))
    try:
        copy = work / "data"
        _say(f"Copying {data_dir} to {copy}")
        shutil.copytree(data_dir, copy)
        os.environ["OMNI_DATA_DIR"] = str(copy)
        os.environ["DAGSTER_HOME"] = str(copy / "dagster_home")
        requests = []
        for customer_id in _people(copy / "warehouse.duckdb", people):
            _say(f"omni forget --customer-id {customer_id}")
            started = time.perf_counter()
            result = forget(customer_id=customer_id)
            requests.append(
                {
                    "seconds": round(time.perf_counter() - started, 2),
                    "source_records": len(result.person.records),
                    "warehouse_rows": sum(result.warehouse_rows.values()),
                    "published_rows": sum(result.published_rows.values()),
                }
            )
        _say("Timing the suppression step on every raw table with this ledger")
        return {
            "data_dir": str(data_dir),
            "forget": requests,
            "suppression": _suppression_cost(copy / "warehouse.duckdb", load_blocklist(copy)),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--people", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.data_dir.resolve(), args.people), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
