"""Freshness: how old a source's newest record is on the source's own clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from orchestration.defs.monitoring.clock import AsOf, SourceClock, records_sql
from orchestration.lib.warehouse import query_rows


@dataclass(frozen=True)
class Freshness:
    passed: bool
    newest: datetime | None
    age_hours: float | None
    limit_hours: float
    description: str


def newest_record(clock: SourceClock) -> datetime | None:
    try:
        ((newest,),) = query_rows(f"select max(ts) from ({records_sql(clock)})")
    except duckdb.CatalogException:  # the source has never been loaded into this warehouse
        return None
    return newest


def judge_freshness(
    system: str, newest: datetime | None, as_of: AsOf, limit_hours: float
) -> Freshness:
    if newest is None:
        return Freshness(
            False, None, None, limit_hours, f"{system} has no records at all (as of {as_of.moment})"
        )
    age = round((as_of.moment - newest).total_seconds() / 3600, 2)
    passed = age <= limit_hours
    description = (
        f"newest {system} record {newest.isoformat()} is {age:g} h old "
        f"(limit {limit_hours:g} h, clock: {as_of.describe()})"
    )
    if not passed:
        description = f"{system} is silent: " + description
    return Freshness(passed, newest, age, limit_hours, description)
