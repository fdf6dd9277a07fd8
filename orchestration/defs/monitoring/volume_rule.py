"""The volume rule, apart from where its numbers come from.

A warehouse's first load is a source's whole history; every later load is a day or so.
Comparing a daily load with the first would warn every day, so the first load is never
part of the history. Until a source has had a daily load, its usual day is estimated from
the records its clock columns put on each of the last days (see ``volume.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True)
class VolumeVerdict:
    passed: bool
    delivered: int
    baseline: float | None
    ratio: float | None
    basis: str
    description: str


def judge_volume(
    delivered: int,
    daily_history: list[int],
    daily_rate: float | None,
    min_ratio: float,
) -> VolumeVerdict:
    """Warn when this run delivered less than ``min_ratio`` of a usual load.

    ``daily_history``: records of the earlier comparable loads (newest first, the first load
    excluded); ``daily_rate``: the usual records per business day, used only while there is
    no such load yet.
    """
    if daily_history:
        baseline = float(median(daily_history))
        basis = f"median of the previous {len(daily_history)} load(s)"
    elif daily_rate is not None:
        baseline = daily_rate
        basis = "median records per business day so far (no daily load yet)"
    else:
        return VolumeVerdict(
            True, delivered, None, None, "none", f"first load: {delivered} records, no history"
        )
    if baseline <= 0:
        return VolumeVerdict(
            True, delivered, baseline, None, basis, f"{delivered} records; usually none"
        )
    ratio = round(delivered / baseline, 4)
    passed = ratio >= min_ratio
    if delivered == 0:
        what = f"delivered nothing in this run (usually {baseline:g}: {basis})"
    else:
        what = f"delivered {delivered} records, {ratio:.0%} of usual {baseline:g} ({basis})" + (
            "" if passed else f"; below the {min_ratio:.0%} floor"
        )
    return VolumeVerdict(passed, delivered, baseline, ratio, basis, what)
