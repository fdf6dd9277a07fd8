"""Time helpers: numpy datetime64[s] in UTC everywhere, Madrid local time only for the tills."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

MADRID = ZoneInfo("Europe/Madrid")
DAY = np.timedelta64(86400, "s")


def day_start(d: date) -> np.datetime64:
    """UTC midnight of ``d`` as datetime64[s]."""
    return np.datetime64(d.isoformat(), "s")


def madrid_offset_seconds(d: date) -> int:
    """UTC offset of Madrid at noon on ``d`` (shops open 10-21, never near a DST switch)."""
    noon = datetime(d.year, d.month, d.day, 12, tzinfo=MADRID)
    return int(noon.utcoffset().total_seconds())


def offsets_for(days: np.ndarray) -> np.ndarray:
    """Madrid UTC offset (seconds) for each datetime64[D] in ``days``."""
    uniq, inv = np.unique(days, return_inverse=True)
    table = np.array([madrid_offset_seconds(d.astype(object)) for d in uniq], dtype=np.int64)
    return table[inv]


def iso_z(ts: np.ndarray) -> np.ndarray:
    """UTC ISO 8601 strings with ``Z`` (REST and file timestamps)."""
    return np.char.add(np.datetime_as_string(ts.astype("datetime64[s]"), unit="s"), "Z")


def iso_one(ts: np.datetime64) -> str:
    """One UTC instant as ISO 8601 with ``Z`` (the scalar twin of ``iso_z``)."""
    return str(np.datetime64(ts, "s")) + "Z"


def local_naive(ts_utc: np.ndarray) -> np.ndarray:
    """Naive Europe/Madrid wall-clock strings, as a store till writes them."""
    ts = ts_utc.astype("datetime64[s]")
    if not ts.size:
        return np.zeros(0, dtype="U19")
    offs = offsets_for(ts.astype("datetime64[D]"))
    local = ts + offs.astype("timedelta64[s]")
    return np.char.replace(np.datetime_as_string(local, unit="s"), "T", " ")


def to_date(ts: np.datetime64) -> date:
    return ts.astype("datetime64[D]").astype(object)


def daterange(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


def parse_iso(value: str) -> np.datetime64:
    """Parse a client-supplied ISO timestamp (``Z``, offsets or a bare date) to UTC."""
    v = value.strip().replace(" ", "T")
    if len(v) == 10:
        return np.datetime64(v, "s")
    dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    if dt.tzinfo is not None:
        dt = dt.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return np.datetime64(dt.replace(microsecond=0), "s")


def present(values: np.ndarray) -> np.ndarray:
    """Elementwise ``is not None`` over an object array."""
    return np.not_equal(values, None)
