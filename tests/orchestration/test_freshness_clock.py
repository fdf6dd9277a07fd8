"""The clock freshness is judged by: the source's, not blindly the wall clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from orchestration.defs.monitoring.clock import AS_OF_ENV, parse_as_of, source_as_of
from orchestration.defs.monitoring.freshness import judge_freshness


def test_a_date_means_the_end_of_that_business_day_in_madrid():
    assert parse_as_of("2025-09-28") == datetime(2025, 9, 28, 22, 0, tzinfo=UTC)
    # Winter time: Madrid is UTC+1.
    assert parse_as_of("2025-12-01") == datetime(2025, 12, 1, 23, 0, tzinfo=UTC)


def test_a_datetime_without_offset_is_refused():
    with pytest.raises(ValueError, match="offset"):
        parse_as_of("2025-09-28T10:00:00")


def test_a_sandbox_is_judged_by_its_own_last_day(tmp_path, monkeypatch):
    monkeypatch.delenv(AS_OF_ENV, raising=False)
    (tmp_path / "_truth").mkdir()
    (tmp_path / "_truth" / "manifest.json").write_text(json.dumps({"end_date": "2025-09-28"}))
    wall = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

    as_of = source_as_of(tmp_path, now=wall)

    assert as_of.moment == datetime(2025, 9, 28, 22, 0, tzinfo=UTC)
    assert "sandbox end date 2025-09-28" in as_of.origin
    # Real sources (no manifest) run on the wall clock; $OMNI_AS_OF wins over both.
    assert source_as_of(tmp_path / "real", now=wall).moment == wall
    monkeypatch.setenv(AS_OF_ENV, "2025-10-01T09:30:00+02:00")
    assert source_as_of(tmp_path, now=wall).moment == datetime(2025, 10, 1, 7, 30, tzinfo=UTC)


def test_age_is_measured_against_the_limit():
    as_of = source_as_of(None, now=datetime(2025, 10, 1, 22, 0, tzinfo=UTC))
    newest = datetime(2025, 9, 28, 22, 0, tzinfo=UTC)

    stale = judge_freshness("marketing", newest, as_of, limit_hours=48)
    fresh = judge_freshness("marketing", newest, as_of, limit_hours=96)
    never = judge_freshness("marketing", None, as_of, limit_hours=48)

    assert (stale.passed, stale.age_hours) == (False, 72.0)
    assert stale.description.startswith("marketing is silent: newest marketing record")
    assert fresh.passed
    assert not never.passed and "no records at all" in never.description
