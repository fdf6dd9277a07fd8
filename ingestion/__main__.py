"""``python -m ingestion``: load the source systems into the raw datasets, nothing else.

For debugging the extract-load layer alone; ``omni run`` is the scheduled entry point.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ingestion import paths
from ingestion.pipelines import SYSTEMS, run_ingestion


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingestion", description=__doc__)
    parser.add_argument("--sources", type=Path, default=None, help="sandbox folder")
    parser.add_argument("--warehouse", type=Path, default=None, help="DuckDB file")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated")
    parser.add_argument("--full-refresh", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    rows = run_ingestion(
        args.sources or paths.sources_dir(),
        args.warehouse or paths.warehouse_path(),
        systems=tuple(s.strip() for s in args.systems.split(",") if s.strip()),
        full_refresh=args.full_refresh,
    )
    for row in rows:
        print(json.dumps(row, default=str))
    broken = [
        r for r in rows if r["received"] != r["loaded"] + r["quarantined"] + r.get("suppressed", 0)
    ]
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
