"""File transports: gzip JSON lines per ``dt=`` partition and the daily spend CSV."""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

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


GZIP_LEVEL = 3  # ~3x faster than 6 for ~15 % more bytes: the sandbox is bound by writing


def gzip_bytes(payload: bytes) -> bytes:
    """gzip with a header that carries no time and no name: same world, same bytes."""
    z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return z.compress(payload) + z.flush()


def _json_text(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each value as JSON text. Strings are generated (ids, urls, times, addresses) and never
    hold control characters, so escaping quotes and backslashes is all JSON needs."""
    t = col.type
    if pa.types.is_null(t):
        return pa.array(["null"] * len(col), pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if pc.any(pc.match_substring_regex(col, r'["\\]')).as_py():
            col = pc.replace_substring(pc.replace_substring(col, "\\", "\\\\"), '"', '\\"')
        text = pc.binary_join_element_wise('"', col, '"', "")
    elif pa.types.is_boolean(t):
        text = pc.if_else(col, "true", "false")
    elif pa.types.is_integer(t):
        text = pc.cast(col, pa.string())
    else:
        raise TypeError(f"no JSON formatting for column type {t}")
    return pc.fill_null(text, "null")


def jsonl_bytes(table: pa.Table) -> bytes:
    """One JSON object per row, keys in column order, as newline-terminated UTF-8."""
    parts: list = []
    for k, name in enumerate(table.column_names):
        parts.append(("{" if k == 0 else ",") + orjson.dumps(name).decode() + ":")
        parts.append(_json_text(table.column(name)))
    parts.append("}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # The lines sit back to back in the array's data buffer: slice it instead of joining.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return lines.buffers()[2].to_pybytes()[first:last]


class FileWriter:
    """Compresses and writes files on a worker thread while the caller formats the next.

    zlib releases the GIL, so on two cores compression overlaps formatting. Files are
    complete and identical whatever the timing; ``close`` waits for all of them.
    """

    def __init__(self, workers: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-gz")
        self._pending: list[Future] = []

    def submit(self, path: Path, payload: bytes | pa.Table) -> None:
        """Write ``payload`` (bytes, or a table to format as JSON lines) gzipped to ``path``."""
        self._pending.append(self._pool.submit(_write_gz, path, payload))
        while len(self._pending) > 6:  # bound memory: wait for the oldest files
            self._pending.pop(0).result()

    def close(self) -> None:
        for f in self._pending:
            f.result()
        self._pending = []
        self._pool.shutdown()

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _write_gz(path: Path, payload: bytes | pa.Table) -> None:
    if isinstance(payload, pa.Table):
        payload = jsonl_bytes(payload)  # Arrow kernels release the GIL too
    path.write_bytes(gzip_bytes(payload))


def write_jsonl_table(
    out: Path, system: str, entity: str, dt: str, table: pa.Table, writer: FileWriter
) -> None:
    """Append ``table``'s rows to partition ``dt`` as new ``<prefix>-<n>.jsonl.gz`` files."""
    prefix = FILE_PREFIX[(system, entity)]
    folder = out / system / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    n = _next_index(folder, prefix)
    for start in range(0, table.num_rows, ROWS_PER_FILE):
        # Formatting here, not on the workers: many small Arrow calls fight over the GIL.
        writer.submit(
            folder / f"{prefix}-{n}.jsonl.gz", jsonl_bytes(table.slice(start, ROWS_PER_FILE))
        )
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
