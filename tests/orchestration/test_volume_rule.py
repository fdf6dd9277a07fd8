"""The volume rule: an ordinary daily load after the full first load passes; a day that
delivers nothing or 5% of usual warns."""

from __future__ import annotations

import pytest

from orchestration.defs.monitoring.volume_rule import judge_volume

FLOOR = 0.2


def test_the_first_load_has_nothing_to_compare_with():
    verdict = judge_volume(16_882, daily_history=[], daily_rate=None, min_ratio=FLOOR)
    assert verdict.passed
    assert verdict.baseline is None
    assert "first load: 16882 records" in verdict.description


@pytest.mark.parametrize(
    ("delivered", "passed", "ratio"),
    [
        (600, True, 1.0),  # an ordinary day, the first load (a full history) left out
        (130, True, 0.2167),  # a quiet day is not an incident
        (30, False, 0.05),  # 5% of usual: a partial export
        (0, False, 0.0),  # nothing at all
    ],
)
def test_daily_loads_are_compared_with_the_median_of_earlier_daily_loads(delivered, passed, ratio):
    # Earlier daily loads only: the caller never passes the first (full-history) load.
    verdict = judge_volume(delivered, [610, 600, 580, 9_000], daily_rate=None, min_ratio=FLOOR)
    assert verdict.baseline == 605.0
    assert verdict.passed is passed
    assert verdict.ratio == round(delivered / 605, 4) == pytest.approx(ratio, abs=0.01)


def test_before_any_daily_load_the_usual_day_comes_from_the_records_per_day():
    ordinary = judge_volume(58, daily_history=[], daily_rate=54.0, min_ratio=FLOOR)
    drop = judge_volume(3, daily_history=[], daily_rate=54.0, min_ratio=FLOOR)
    assert ordinary.passed and ordinary.baseline == 54.0
    assert not drop.passed
    assert "3 records, 6% of usual 54" in drop.description
    assert "below the 20% floor" in drop.description


def test_nothing_delivered_is_said_in_words():
    verdict = judge_volume(0, daily_history=[40, 44], daily_rate=None, min_ratio=FLOOR)
    assert not verdict.passed
    assert verdict.description.startswith("delivered nothing in this run (usually 42")


def test_a_source_that_never_sends_anything_is_not_flagged():
    verdict = judge_volume(0, daily_history=[0, 0, 0], daily_rate=None, min_ratio=FLOOR)
    assert verdict.passed
