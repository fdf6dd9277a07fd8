"""File transports: gzip JSON lines per ``dt=`` partition and the daily spend CSV."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import orjson

ROWS_PER_FILE = 50_000
FILE_PREFIX = {
    ("clickstream", "events"): "events",
    ("messaging", "conversations"): "conversations",
    ("messaging", "deliveries"): "deliveries",
}
SPEND_COLUMNS = ("date", "channel", "campaign_id", "spend", "impressions", "clicks", "currency")


def _next_index(folder: Path, prefix: str) -> int:
    existing = sorted(folder.glob(f"{prefix}-*.jsonl.gz"))
    return len(existing)


def write_jsonl_partition(out: Path, system: str, entity: str, dt: str, docs: list[dict]) -> None:
    """Append ``docs`` to partition ``dt`` as new ``<prefix>-<n>.jsonl.gz`` files."""
    prefix = FILE_PREFIX[(system, entity)]
    folder = out / system / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    n = _next_index(folder, prefix)
    for start in range(0, len(docs), ROWS_PER_FILE):
        payload = b"".join(orjson.dumps(d) + b"\n" for d in docs[start : start + ROWS_PER_FILE])
        path = folder / f"{prefix}-{n}.jsonl.gz"
        # Fixed mtime and no file name in the header: same world, same bytes.
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=5) as gz,
        ):
            gz.write(payload)
        n += 1


def write_spend_partition(out: Path, dt: str, rows: list[dict]) -> None:
    folder = out / "marketing" / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SPEND_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "spend": f"{r['spend']:.2f}"})
    (folder / "spend.csv").write_text(buf.getvalue(), encoding="utf-8")
