"""Write a window's record versions into the source systems, as of the world's end.

Versions visible before the end are applied (latest per key wins); the rest wait in the
pending queue. File records whose partition is already closed arrive in the first open one,
which is exactly how a late event behaves.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import orjson
import pandas as pd

from . import docstore, pos_db
from .files import write_jsonl_partition, write_spend_partition
from .records import FILE_ENTITIES, Batch, Version
from .state import PendingQueue, WorldState

log = logging.getLogger(__name__)


def _latest(versions: list[Version]) -> list[Version]:
    latest: dict[str, Version] = {}
    for v in sorted(versions, key=lambda v: v.visible_at):  # stable: emission order breaks ties
        latest[v.key] = v
    return sorted(latest.values(), key=lambda v: (v.visible_at, v.key))


def materialize(out: Path, state: WorldState, batch: Batch, window_first_day: str) -> pd.DataFrame:
    """Apply ``batch`` plus the pending queue; returns the new ground-truth identity rows."""
    queue = PendingQueue(out)
    merged: dict[tuple[str, str], list[Version]] = defaultdict(list)
    for key, versions in queue.pop_all().items():
        merged[key].extend(versions)
    for key, versions in batch.versions.items():
        merged[key].extend(versions)
    cutoff_ts = f"{state.end.isoformat()}T00:00:00Z"
    cutoff_day = state.end.isoformat()
    file_systems = set(FILE_ENTITIES)
    pending: list[tuple[str, str, Version]] = []
    truth: list[tuple[str, str, str, str]] = []
    crm_con = docstore.connect(out, "crm")
    shop_con = docstore.connect(out, "ecommerce")
    pos_con = pos_db.connect(out)
    for system, entity in sorted(merged):
        versions = merged[(system, entity)]
        is_file = system in file_systems
        cutoff = cutoff_day if is_file else cutoff_ts
        ready = [v for v in versions if v.visible_at < cutoff]
        pending += [(system, entity, v) for v in versions if v.visible_at >= cutoff]
        if not ready:
            continue
        if is_file:
            by_dt: dict[str, list[Version]] = defaultdict(list)
            for v in ready:
                by_dt[max(v.visible_at, window_first_day)].append(v)
            for dt in sorted(by_dt):
                rows = sorted(by_dt[dt], key=lambda v: v.key)
                if system == "marketing":
                    write_spend_partition(out, dt, [v.doc for v in rows])
                else:
                    write_jsonl_partition(out, system, entity, dt, [v.doc for v in rows])
            name = f"{system}.{entity}"
            state.file_parts[name] = state.file_parts.get(name, 0) + len(ready)
            if system == "clickstream":
                seen = {v.doc["anonymous_id"]: v.person_id for v in ready}
                truth += [("clickstream", "anonymous_ids", a, p) for a, p in seen.items() if p]
            else:
                truth += [(system, entity, v.key, v.person_id) for v in ready if v.person_id]
            continue
        latest = _latest(ready)
        truth += [(system, entity, v.key, v.person_id) for v in latest if v.person_id]
        if system == "pos":
            pos_db.upsert(pos_con, entity, [v.doc for v in latest])
        else:
            con = crm_con if system == "crm" else shop_con
            rows = [(v.key, v.doc["updated_at"], orjson.dumps(v.doc)) for v in latest]
            docstore.upsert(con, entity, rows)
        log.info("%s.%s: %d records written", system, entity, len(latest))
    for table, (columns, rows) in batch.pos_rows.items():
        pos_db.insert_rows(pos_con, table, columns, rows)
        log.info("pos.%s: %d rows written", table, len(rows))
    for con in (crm_con, shop_con, pos_con):
        con.commit()
        con.close()
    queue.push(pending)
    log.info("%d record versions wait for a later advance", len(pending))
    return pd.DataFrame(
        truth, columns=["source_system", "source_entity", "source_record_id", "person_id"]
    )
