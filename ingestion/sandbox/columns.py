"""Arrow column builders: ids and timestamps for millions of records without Python loops."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def padded_ids(prefix: str, numbers: np.ndarray, width: int, suffix: str = "") -> pa.Array:
    """``f"{prefix}{n:0{width}d}{suffix}"`` for every n."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, suffix, "")


def iso_utc(ts: np.ndarray) -> pa.Array:
    """UTC ISO 8601 with ``Z`` (``2025-09-14T10:23:11Z``) from datetime64 values."""
    # Arrow's cast writes "YYYY-MM-DD HH:MM:SS" in C++, ~3x faster than numpy's formatter.
    text = pc.cast(pa.array(np.asarray(ts).astype("datetime64[s]"), pa.timestamp("s")), pa.string())
    return pc.binary_join_element_wise(pc.replace_substring(text, " ", "T"), "Z", "")


def strings(values) -> pa.Array:
    """Python strings / None (object arrays, lists) as an Arrow string column."""
    return pa.array(values, pa.string())


def constant(value: str | None, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, pa.string())
    return pa.repeat(pa.scalar(value, pa.string()), n)


def money(values: np.ndarray) -> np.ndarray:
    """Amounts as the APIs write them: ``"12.30"`` (two decimals, as ``f"{x:.2f}"``)."""
    x = np.asarray(values, dtype=float)
    # str.format over a list: ~6x faster than np.char.mod, which calls "%" per value anyway.
    text = np.empty(x.size, dtype=object)
    text[:] = list(map("{:.2f}".format, x.ravel().tolist()))
    return text.reshape(x.shape)
