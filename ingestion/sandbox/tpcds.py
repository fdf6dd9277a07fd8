"""TPC-DS profile of the sandbox (``--profile tpcds``): not available yet."""

from __future__ import annotations

from datetime import date
from pathlib import Path


class ProfileUnavailable(ValueError):
    pass


def generate_tpcds(
    out: Path, customers: int, days: int, seed: int, start: date, scale: float
) -> dict:
    raise ProfileUnavailable("the tpcds sandbox profile is not available yet; use --profile retail")
