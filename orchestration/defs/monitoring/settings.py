"""Thresholds of the monitoring checks, from the ``freshness`` and ``volume`` sections of
``orchestration/quality.yml`` (which checks block is decided there too)."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from orchestration.lib.check_policy import QualityConfigError, check_policy, is_blocking

DEFAULT_MAX_AGE_HOURS = 48.0


@dataclass(frozen=True)
class VolumeSettings:
    min_ratio: float = 0.2
    lookback_loads: int = 7
    lookback_days: int = 7


def max_age_hours(system: str) -> float:
    limits = check_policy().section("freshness").get("max_age_hours") or {}
    if not isinstance(limits, dict):
        raise QualityConfigError("quality config: freshness.max_age_hours must be a mapping")
    return float(limits.get(system, limits.get("default", DEFAULT_MAX_AGE_HOURS)))


def volume_settings() -> VolumeSettings:
    section = check_policy().section("volume")
    defaults = VolumeSettings()
    settings = VolumeSettings(
        min_ratio=float(section.get("min_ratio", defaults.min_ratio)),
        lookback_loads=int(section.get("lookback_loads", defaults.lookback_loads)),
        lookback_days=int(section.get("lookback_days", defaults.lookback_days)),
    )
    if not 0 < settings.min_ratio <= 1 or settings.lookback_loads < 1 or settings.lookback_days < 1:
        raise QualityConfigError(
            f"quality config: volume needs 0 < min_ratio <= 1 and look-backs >= 1, got {section}"
        )
    return settings


def severity(check_name: str) -> dg.AssetCheckSeverity:
    """ERROR for a check the policy makes blocking (Dagster only blocks on ERROR), else WARN."""
    return dg.AssetCheckSeverity.ERROR if is_blocking(check_name) else dg.AssetCheckSeverity.WARN
