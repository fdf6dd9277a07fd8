"""The retail calendar: seasonality (Black Friday, Christmas, Rebajas), weekdays, promotions."""

from __future__ import annotations

from datetime import date, timedelta


def black_friday(year: int) -> date:
    """Fourth Friday of November."""
    nov1 = date(year, 11, 1)
    first_friday = nov1 + timedelta(days=(4 - nov1.weekday()) % 7)
    return first_friday + timedelta(weeks=3)


def season_name(d: date) -> str | None:
    bf = black_friday(d.year)
    if bf - timedelta(days=4) <= d <= bf + timedelta(days=3):
        return "black_friday"
    if date(d.year, 12, 1) <= d <= date(d.year, 12, 24):
        return "navidad"
    if date(d.year, 1, 7) <= d <= date(d.year, 2, 28) or date(d.year, 7, 1) <= d <= date(
        d.year, 8, 31
    ):
        return "rebajas"
    return None


def demand_factor(d: date) -> float:
    """How much more (or less) people buy on ``d`` than on an ordinary weekday."""
    factor = {None: 1.0, "black_friday": 1.9, "navidad": 1.6, "rebajas": 1.35}[season_name(d)]
    if d == black_friday(d.year):
        factor = 3.2
    if d.month == 8:
        factor *= 0.8
    if d in (date(d.year, 12, 25), date(d.year, 1, 1), date(d.year, 1, 6)):
        factor *= 0.3
    return factor * (1.0, 0.95, 0.95, 1.0, 1.1, 1.05, 0.95)[d.weekday()]


def store_weekday_factor(d: date) -> float:
    """Most Spanish shops close on Sunday; Saturday is the big store day."""
    return (0.95, 0.9, 0.95, 1.0, 1.15, 1.6, 0.3)[d.weekday()]


def promo_discount(d: date) -> float:
    """Typical markdown on promoted lines that day."""
    return {None: 0.0, "black_friday": 0.25, "navidad": 0.10, "rebajas": 0.30}[season_name(d)]
