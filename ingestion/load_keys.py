"""Primary keys already extracted in the current load, for resources merged by ``upsert``.

dlt's ``delete-insert`` merge de-duplicates the staging table by primary key with a window
function over every staged row: half the cost of merging a large file drop into DuckDB.
``upsert`` (DuckDB ``MERGE INTO``) skips that step and is about twice as fast, but it
trusts the staged keys to be unique: a key staged twice is inserted twice. The file
readers already reject a key repeated inside one file; this catches a key repeated across
files of one load (an export that re-delivers an event in a later partition) before it
reaches dlt. The first version extracted is loaded, a later one is quarantined with its
reason, so ``received = loaded + quarantined`` still holds. Every file drop, whatever its
merge, reads its files newest delivery first (``filesource.newest_first``) through
``DeliveredKeys``: there the first version extracted is the newest delivered one, and the
quarantine names the file it came from.

Keys are remembered as 64-bit hashes in one sorted array: 8 bytes per key, whatever its
width (14M events ≈ 110 MB; 4 bytes more per key for a file drop's file). Two different keys
sharing a hash (odds ≈ n²/2⁶⁵: 5·10⁻⁶ for 14M keys in one load) would send the second record
to quarantine, never lose it silently.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from ingestion.contracts import Contract
from ingestion.quarantine import current_load_id, duplicate_reason

log = logging.getLogger(__name__)


def merge_disposition(upsert: bool) -> dict[str, str]:
    """dlt's write disposition of a resource merged on its primary key."""
    return {"disposition": "merge", "strategy": "upsert" if upsert else "delete-insert"}


def _reason(contract: Contract) -> str:
    keys = ", ".join(contract.primary_key)
    return (
        f"contract: duplicate primary key ({keys}) already extracted earlier in this load "
        "(another file or chunk); the first version was kept"
    )


class SeenKeys:
    """The primary keys of one resource extracted so far in the current load.

    ``last_in_batch=True`` also settles keys repeated within a batch, as the batch check
    would (``quarantine.split_arrow``): the batch's last version of a key is the one
    considered, the earlier ones are quarantined. It sorts the batch's key hashes anyway,
    so this costs nothing where an Arrow group-by over the key columns cost ~0.3 s per
    million rows; use it only where a batch is written oldest first (a POS chunk), not for
    batches joined from several files, whose first file's version must win.
    """

    def __init__(self, contract: Contract, last_in_batch: bool = False) -> None:
        self.contract = contract
        self.last_in_batch = last_in_batch
        self._load_id: str | None = None
        self._seen = np.empty(0, dtype=np.uint64)
        # DuckDB hashes Arrow columns in place, ~17x faster than through pandas objects; a
        # cursor of one shared in-memory database (a new database costs ~10-35 ms to open).
        self._duckdb = _hashing_database().cursor()
        keys = ", ".join(f'"{k}"' for k in contract.primary_key)
        self._hash_sql = f"hash({keys}) AS h"

    def _hashes(self, table: pa.Table) -> np.ndarray:
        keys = self._duckdb.from_arrow(table.select(list(self.contract.primary_key)))
        return np.asarray(keys.project(self._hash_sql).fetchnumpy()["h"], dtype=np.uint64)

    def split(self, table: pa.Table) -> tuple[pa.Table, list[tuple[str, dict]]]:
        """The rows whose key is new to this load, and (reason, row) of the others."""
        keep, superseded = self._new(table)
        if keep.all():
            return table, []
        rows = table.filter(pa.array(~keep)).to_pylist()
        reasons = [
            duplicate_reason(self.contract, row) if later_in_batch else _reason(self.contract)
            for row, later_in_batch in zip(rows, superseded[~keep], strict=True)
        ]
        return table.filter(pa.array(keep)), list(zip(reasons, rows, strict=True))

    def new_keys(self, table: pa.Table) -> np.ndarray:
        """Mask of the rows whose key is new to this load (remembered from now on)."""
        return self._new(table)[0]

    @property
    def reason(self) -> str:
        """Why a key already extracted in this load is quarantined."""
        return _reason(self.contract)

    def _start_load(self) -> None:
        """Forget the keys of an earlier load: a source object extracted again (as Dagster
        may do) starts a new one."""
        load_id = current_load_id()
        if load_id != self._load_id:
            self._load_id, self._seen = load_id, np.empty(0, dtype=np.uint64)

    def _sorted_hashes(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """The order that sorts the table's key hashes, and the sorted hashes. The sort is
        stable, so a batch's versions of a key stay in batch order, and searching sorted
        hashes walks the seen array in order (3x faster than at random)."""
        hashes = self._hashes(table)
        order = np.argsort(hashes, kind="stable")
        return order, hashes[order]

    def _find(self, ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each sorted hash sits in the seen array, and whether it is there already."""
        at = np.searchsorted(self._seen, ordered)
        inside = at < len(self._seen)
        earlier = np.zeros(len(ordered), dtype=bool)
        earlier[inside] = self._seen[at[inside]] == ordered[inside]
        return at, earlier

    def _new(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        self._start_load()
        order, ordered = self._sorted_hashes(table)
        in_batch = np.zeros(len(ordered), dtype=bool)
        if self.last_in_batch:
            in_batch[:-1] = ordered[:-1] == ordered[1:]  # a later version follows
        else:
            in_batch[1:] = ordered[1:] == ordered[:-1]  # an earlier version precedes
        at, earlier = self._find(ordered)
        new = ~in_batch & ~earlier
        self._seen = _merged(self._seen, at[new], ordered[new])
        superseded = np.zeros(len(ordered), dtype=bool)
        if self.last_in_batch:
            superseded[order[in_batch]] = True
        keep = np.zeros(len(ordered), dtype=bool)
        keep[order[new]] = True
        return keep, superseded


class DeliveredKeys(SeenKeys):
    """The primary keys of a file drop extracted so far in the current load, each with the
    file its loaded version came from.

    The files of a load are read newest delivery first (``filesource.newest_first``), each
    file's keys already unique (its last line of a key wins), so the first version of a key
    read is the newest delivered one: it loads, and every older delivery of the key in the
    load is set aside. Remembering the file of each key (4 bytes per key) lets the
    quarantine say which file superseded a version. Only ``newest`` records the files.
    A backfill window run also passes it the keys alone of the files delivered after its
    own outside the window (``filesource.window_files``), in the same order, so that they
    set the window's older versions aside.
    """

    def __init__(self, contract: Contract) -> None:
        super().__init__(contract)
        self._files: list[str] = []
        self._file_of = np.empty(0, dtype=np.int32)

    def _start_load(self) -> None:
        if current_load_id() != self._load_id:
            self._files, self._file_of = [], np.empty(0, dtype=np.int32)
        super()._start_load()

    def newest(self, files: list[tuple[str, pa.Table]]) -> list[tuple[np.ndarray, list[str]]]:
        """For each (file, rows) in reading order: the mask of its rows whose key no file
        read before had (remembered from now on), and for each other row the file whose
        version of the key loads instead. The keys of several files are checked at once:
        each check has a fixed cost in DuckDB."""
        self._start_load()
        sizes = [table.num_rows for _, table in files]
        first = len(self._files)
        self._files.extend(name for name, _ in files)
        file_ids = np.repeat(np.arange(first, len(self._files), dtype=np.int32), sizes)
        keys = list(self.contract.primary_key)
        # Permissive: a key column read alone (a backfill's look-ahead) may differ from a
        # checked table's in nullability only.
        tables = [t.select(keys) for _, t in files]
        order, ordered = self._sorted_hashes(pa.concat_tables(tables, promote_options="permissive"))
        origin = file_ids[order]
        in_batch = np.zeros(len(ordered), dtype=bool)
        in_batch[1:] = ordered[1:] == ordered[:-1]  # an earlier file of the batch has it
        at, earlier = self._find(ordered)
        new = ~in_batch & ~earlier
        bounds = np.cumsum(sizes)[:-1]
        if new.all():  # the usual batch: nothing delivered twice
            results = [(mine, []) for mine in np.split(np.ones(len(new), dtype=bool), bounds)]
        else:
            # Before the merge below: ``at`` points into the seen arrays as they are now.
            winner = np.empty(len(ordered), dtype=np.int32)
            winner[order] = self._kept_files(origin, in_batch, at, earlier)
            keep = np.zeros(len(ordered), dtype=bool)
            keep[order[new]] = True
            results = [
                (mine, [self._files[i] for i in kept_from[~mine].tolist()])
                for mine, kept_from in zip(
                    np.split(keep, bounds), np.split(winner, bounds), strict=True
                )
            ]
        self._seen = _merged(self._seen, at[new], ordered[new])
        self._file_of = _merged(self._file_of, at[new], origin[new])
        return results

    def _kept_files(
        self, origin: np.ndarray, in_batch: np.ndarray, at: np.ndarray, earlier: np.ndarray
    ) -> np.ndarray:
        """For each sorted key, the file of its version that loads: an earlier batch's, else
        the first file of this batch to have it."""
        run_start = np.maximum.accumulate(np.where(in_batch, 0, np.arange(len(origin))))
        kept_in = origin[run_start]
        kept_in[earlier] = self._file_of[at[earlier]]
        return kept_in


@functools.cache
def _hashing_database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB for every key guard of the process (each takes a cursor)."""
    return duckdb.connect()


def _merged(seen: np.ndarray, at: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``seen`` with the sorted ``new`` values inserted before positions ``at`` (what
    ``np.insert`` does, without re-sorting the positions it is given)."""
    out = np.empty(len(seen) + len(new), dtype=seen.dtype)
    slots = at + np.arange(len(new))
    old = np.ones(len(out), dtype=bool)
    old[slots] = False
    out[slots] = new
    out[old] = seen
    return out


def append_into_empty_tables(pipeline: Any, source: Any) -> list[str]:
    """Load this run's ``upsert`` resources whose raw table is absent or empty by appending.

    ``MERGE INTO`` an empty table inserts every staged row, which is what appending them
    does once the load's keys are unique, and this guard makes them unique (a key repeated
    within a batch keeps one version, one repeated across batches is quarantined). The
    append skips dlt's staging copy and the ``MERGE`` join: a first POS load of 1.4M rows
    loads in about half the time. A crash after a committed copy is repaired on resume as
    for ``upsert`` (``drop_restaged_duplicates``). Tables that already hold rows, and every
    other resource, load as declared. Returns the tables switched to append for this run.
    """
    upserts = {
        name: resource.table_name
        for name, resource in source.selected_resources.items()
        if resource.write_disposition == merge_disposition(True)
        and isinstance(resource.table_name, str)
    }
    if not upserts:
        return []
    filled = _tables_with_rows(pipeline, set(upserts.values()))
    appended = []
    for name, table in upserts.items():
        if table not in filled:
            source.resources[name].apply_hints(write_disposition="append")
            appended.append(table)
    if appended:
        log.info("empty table(s) %s: this load appends instead of merging", ", ".join(appended))
    return appended


def _tables_with_rows(pipeline: Any, tables: set[str]) -> set[str]:
    # Asked of the destination itself: a pipeline whose local state is gone (a new machine, a
    # copied warehouse) still finds the rows dlt restores its state from.
    found = set()
    with pipeline.sql_client() as client:
        for table in tables:
            try:
                name = client.make_qualified_table_name(table)
                if client.execute_sql(f"SELECT 1 FROM {name} LIMIT 1"):
                    found.add(table)
            except DatabaseUndefinedRelation:
                continue
    return found


def drop_restaged_duplicates(pipeline: Any, load_ids: list[str]) -> int:
    """After resuming interrupted load packages: keep one row per key of each upsert table
    (and of each keyed table a load appended into, ``append_into_empty_tables``).

    A process killed after a staging copy committed but before dlt recorded the job as done
    copies that file again when the package resumes; ``delete-insert`` would de-duplicate
    the staging table, ``MERGE INTO`` (or an append) inserts a new key twice. Both copies
    carry the resumed package's load id, so only that package's rows are examined. Returns
    rows removed.
    """
    removed = 0
    with pipeline.sql_client() as client:
        for schema in pipeline.schemas.values():
            for table in schema.data_tables():
                # Tables merged by upsert, and those appended into while empty (above).
                appended = table.get("write_disposition") == "append"
                if table.get("x-merge-strategy") != "upsert" and not appended:
                    continue
                keys = [c["name"] for c in table["columns"].values() if c.get("primary_key")]
                if not keys:
                    continue
                name = client.make_qualified_table_name(table["name"])
                key_sql = ", ".join(client.escape_column_name(k) for k in keys)
                for load_id in load_ids:
                    try:
                        rows = client.execute_sql(
                            f"DELETE FROM {name} WHERE _dlt_load_id = %s AND rowid NOT IN ("
                            f"SELECT min(rowid) FROM {name} WHERE _dlt_load_id = %s "
                            f"GROUP BY {key_sql})",
                            load_id,
                            load_id,
                        )
                    except DatabaseUndefinedRelation:
                        break  # the table has never received rows: nothing to repair
                    count = rows[0][0] if rows else 0
                    if count:
                        log.warning(
                            "%s: %d row(s) staged twice by the interrupted load %s removed",
                            name,
                            count,
                            load_id,
                        )
                    removed += count
    return removed
