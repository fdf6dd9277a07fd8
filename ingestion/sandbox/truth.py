"""Ground truth: who every record belongs to, the true KPIs, and the manifest."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import docstore, pos_db
from .state import Ledger, WorldState

TRUTH_SCHEMA = pa.schema(
    [
        ("source_system", pa.string()),
        ("source_entity", pa.string()),
        ("source_record_id", pa.string()),
        ("person_id", pa.string()),
    ]
)

TRUTH_DIR = "_truth"


TRUTH_PARTS = Path("_world") / "truth_parts"


# Entities whose records are written once and never change: their identity rows need no
# de-duplication, so the merge streams them instead of sorting them (tens of millions of
# delivery events at a million customers).
WRITE_ONCE = (
    ("messaging", "deliveries"),
    ("messaging", "conversations"),
    ("pos", "transactions"),
)
MERGE_ROWS = 500_000


def _write_once(table: pa.Table) -> pa.Array:
    pairs = pc.binary_join_element_wise(table["source_system"], table["source_entity"], "/")
    return pc.is_in(pairs, pa.array([f"{s}/{e}" for s, e in WRITE_ONCE]))


def add_identity_rows(out: Path, window: int, rows: pa.Table, spill: int | None = None) -> None:
    """Park one window's identity rows on disk until the run merges them.

    ``spill`` numbers the rows of file records written before the window ended (see
    ``Batch.spill``); their parts sort before the window's own.
    """
    folder = out / TRUTH_PARTS
    folder.mkdir(parents=True, exist_ok=True)
    once = _write_once(rows)
    name = f"{window:05d}" if spill is None else f"{window:05d}-{spill:04d}"
    # lz4: these files live for one run, writing them fast matters more than their size
    pq.write_table(rows.filter(pc.invert(once)), folder / f"part-{name}.parquet",
                   compression="lz4")  # fmt: skip
    pq.write_table(rows.filter(once), folder / f"once-{name}.parquet", compression="lz4")


def update_identities(out: Path) -> dict[str, int]:
    """Merge the parked rows into ``identities.parquet``, one row per source record.

    Records that change (and so were parked once per version) are de-duplicated and sorted
    by DuckDB out of core; write-once records follow, streamed in the order they happened.
    Returns the identity counts.
    """
    path = out / TRUTH_DIR / "identities.parquet"
    folder = out / TRUTH_PARTS
    parts = sorted(folder.glob("part-*.parquet"))
    once = sorted(folder.glob("once-*.parquet"))
    path.parent.mkdir(parents=True, exist_ok=True)
    versioned = folder / "versioned.parquet"
    sources = [p.as_posix() for p in parts]
    if path.exists():
        sources.append(path.as_posix())
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # it would flood the run's log
        con.execute("SET threads = 2")
        con.execute("SET memory_limit = '512MB'")
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"SET temp_directory = '{(out / '_world' / 'duckdb_tmp').as_posix()}'")
        kinds = ", ".join(f"'{s}/{e}'" for s, e in WRITE_ONCE)
        if not sources:
            pq.write_table(TRUTH_SCHEMA.empty_table(), versioned)
        else:
            con.execute(
                "COPY (SELECT DISTINCT ON (source_system, source_entity, source_record_id) *"
                " FROM read_parquet(?) WHERE source_system || '/' || source_entity NOT IN"
                f" ({kinds}) ORDER BY source_system, source_entity, source_record_id, person_id)"
                f" TO '{versioned.as_posix()}' (FORMAT parquet, COMPRESSION zstd)",
                [sources],
            )
        tmp = path.with_suffix(".parquet.tmp")
        with pq.ParquetWriter(tmp, TRUTH_SCHEMA, compression="zstd") as writer:
            for batch in pq.ParquetFile(versioned).iter_batches(MERGE_ROWS):
                writer.write_table(pa.Table.from_batches([batch]).cast(TRUTH_SCHEMA))
            if path.exists():  # an earlier run's write-once records come first
                for batch in pq.ParquetFile(path).iter_batches(MERGE_ROWS):
                    table = pa.Table.from_batches([batch]).cast(TRUTH_SCHEMA)
                    writer.write_table(table.filter(_write_once(table)))
            for part in once:
                writer.write_table(pq.read_table(part).cast(TRUTH_SCHEMA))
        tmp.replace(path)
        records, persons = con.execute(
            "SELECT count(*), count(DISTINCT person_id) FROM read_parquet(?)", [path.as_posix()]
        ).fetchone()
    finally:
        con.close()
    for part in [*parts, *once, versioned]:
        part.unlink()
    return {"persons_with_records": int(persons), "records_with_person": int(records)}


def _money(x: float) -> float:
    return round(float(x) + 0.0, 2)


def _ledger_view(con: duckdb.DuckDBPyConnection, ledger: Ledger, name: str, columns: str) -> None:
    """The ledger's ``name`` files as a view (an empty one with ``columns`` when none)."""
    files = sorted(ledger.dir.glob(f"{name}-*.parquet"))
    if files:
        paths = ", ".join(f"'{f.as_posix()}'" for f in files)
        # a window where a column was all null wrote it as type NULL: unify by name
        sql = f"SELECT * FROM read_parquet([{paths}], union_by_name = true)"
    else:
        sql = f"SELECT * FROM (VALUES ({', '.join('NULL' for _ in columns.split(','))}))" \
              f" AS t({columns}) LIMIT 0"  # fmt: skip
    con.execute(f"CREATE VIEW {name} AS {sql}")


def compute_kpis(out: Path, state: WorldState, identity: dict[str, int]) -> dict:
    """True values as of the world's end (exclusive), from the generator's own ledger.

    DuckDB reads the ledger's Parquet files: at a million customers there are millions of
    orders, which would not fit as Python objects.
    """
    ledger = Ledger(out)
    cutoff = f"{state.end.isoformat()}T00:00:00Z"
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET threads = 2")
        _ledger_view(con, ledger, "orders", "order_id, person_id, channel, ordered_at,"
                     " gross_revenue, cancelled_at")  # fmt: skip
        _ledger_view(con, ledger, "adjustments", 'order_id, "at", amount')
        _ledger_view(con, ledger, "pickups", "ready_at, picked_up_at, expired_at")
        _ledger_view(con, ledger, "spend", "channel, spend")
        people = state.people[["person_id", "segment", "household_id", "signup_at"]]
        con.register("people", people)
        con.execute(
            """
            CREATE TEMP TABLE o AS
            WITH adj AS (
                SELECT order_id, sum(amount::DOUBLE) AS amount FROM adjustments
                WHERE "at"::VARCHAR < $cutoff GROUP BY order_id
            )
            SELECT o.order_id, o.person_id::VARCHAR AS person_id, o.channel::VARCHAR AS channel,
                   substr(o.ordered_at::VARCHAR, 1, 7) AS month,
                   coalesce(o.cancelled_at::VARCHAR < $cutoff, false) AS cancelled,
                   CASE WHEN cancelled THEN 0.0 ELSE o.gross_revenue::DOUBLE END AS gross,
                   CASE WHEN cancelled THEN 0.0
                        ELSE o.gross_revenue::DOUBLE - coalesce(adj.amount, 0.0) END AS net
            FROM orders AS o LEFT JOIN adj USING (order_id)
            WHERE o.ordered_at::VARCHAR < $cutoff
            """,
            {"cutoff": cutoff},
        )

        def money_rows(group: str) -> list[tuple]:
            return con.execute(
                f"SELECT {group}, count(*), sum(gross), sum(net) FROM o GROUP BY ALL ORDER BY ALL"
            ).fetchall()

        def cell(n, gross, net) -> dict:
            return {"orders": int(n), "gross_revenue": _money(gross), "net_revenue": _money(net)}

        by_cm: dict[str, dict[str, dict]] = {}
        for month, channel, n, gross, net in money_rows("month, channel"):
            by_cm.setdefault(month, {})[channel] = cell(n, gross, net)
        by_channel = {ch: cell(n, g, net) for ch, n, g, net in money_rows("channel")}
        n_orders, gross, net, n_cancelled = con.execute(
            "SELECT count(*), coalesce(sum(gross), 0), coalesce(sum(net), 0),"
            " count(*) FILTER (cancelled) FROM o"
        ).fetchone()
        con.execute(
            "CREATE TEMP TABLE buyer AS SELECT person_id, count(DISTINCT channel) AS channels"
            " FROM o WHERE NOT cancelled GROUP BY person_id"
        )
        channels_count = con.execute(
            "SELECT channels, count(*) FROM buyer GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        buyer_segments = con.execute(
            "SELECT p.segment, count(*) FROM buyer JOIN people AS p USING (person_id)"
            " GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        n_buyers = con.execute("SELECT count(*) FROM buyer").fetchone()[0]
        persons, households = con.execute(
            "SELECT count(*), count(DISTINCT household_id) FROM people WHERE signup_at < $end",
            {"end": pd.Timestamp(state.end)},
        ).fetchone()
        segments = con.execute(
            "SELECT segment, count(*) FROM people WHERE signup_at < $end GROUP BY ALL ORDER BY ALL",
            {"end": pd.Timestamp(state.end)},
        ).fetchall()
        pickups, picked, expired = con.execute(
            "SELECT count(*), count(*) FILTER (picked_up_at::VARCHAR < $cutoff),"
            " count(*) FILTER (expired_at::VARCHAR < $cutoff) FROM pickups"
            " WHERE ready_at::VARCHAR < $cutoff",
            {"cutoff": cutoff},
        ).fetchone()
        spend = con.execute(
            "SELECT channel, sum(spend::DOUBLE) FROM spend GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    return {
        "as_of": cutoff,
        "currency": "EUR",
        "revenue_total": {
            "orders": int(n_orders),
            "gross_revenue": _money(gross),
            "net_revenue": _money(net),
            "cancelled_orders": int(n_cancelled),
        },
        "revenue_by_channel": by_channel,
        "revenue_by_month_channel": by_cm,
        "persons": int(persons),
        "households": int(households),
        "customers_by_segment": {k: int(v) for k, v in segments},
        "buyers_by_segment": {k: int(v) for k, v in buyer_segments},
        "buyers": int(n_buyers),
        "buyers_by_channels_purchased": {str(k): int(v) for k, v in channels_count},
        "persons_bought_in_2plus_channels": int(sum(v for k, v in channels_count if k >= 2)),
        "click_and_collect": {
            "pickups": int(pickups),
            "picked_up": int(picked),
            "expired": int(expired),
            "waiting": int(pickups - picked - expired),
            "pickup_rate": round(picked / (picked + expired), 4) if picked + expired else None,
        },
        "spend_by_channel": {ch: _money(v) for ch, v in spend},
        "identity": identity,
    }


def row_counts(out: Path, state: WorldState) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for system, entities in docstore.ENTITIES.items():
        con = sqlite3.connect(docstore.docstore_path(out, system))
        counts[system] = {
            e: con.execute(f"SELECT count(*) FROM {e}").fetchone()[0] for e in entities
        }
        con.close()
    con = sqlite3.connect(pos_db.pos_path(out))
    counts["pos"] = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in pos_db.COLUMNS
    }
    con.close()
    for name, n in sorted(state.file_parts.items()):
        system, entity = name.split(".")
        counts.setdefault(system, {})[entity] = n
    return counts


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:  # streamed: the POS database can be gigabytes
        return hashlib.file_digest(f, "sha256").hexdigest()


def checksums(out: Path) -> dict[str, str]:
    """sha256 of every source and truth file (gigabytes at a million customers: hashlib
    releases the GIL, so two threads hash on both cores)."""
    paths = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel != f"{TRUTH_DIR}/manifest.json" and not rel.startswith("_world/"):
            paths[rel] = path
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-sha") as pool:
        return dict(zip(paths, pool.map(_sha256, paths.values()), strict=True))


def write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
