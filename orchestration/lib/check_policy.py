"""Which asset checks block publication and which only warn (``orchestration/quality.yml``).

One file decides it for every kind of check (dbt tests, Great Expectations suites,
reconciliation, freshness, volume, identity health), so a data engineer can change what
stops the marts without touching code. ``$OMNI_QUALITY_CONFIG`` points at another file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

CONFIG_ENV = "OMNI_QUALITY_CONFIG"
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "quality.yml"

Policy = Literal["block", "warn"]
_POLICIES = ("block", "warn")


class QualityConfigError(ValueError):
    """``quality.yml`` is malformed; raised when the definitions load, not mid-run."""


@dataclass(frozen=True)
class Rule:
    match: str
    policy: Policy


@dataclass(frozen=True)
class CheckPolicy:
    rules: tuple[Rule, ...]
    dbt_default: Literal["from_meta", "block", "warn"]
    other_default: Policy
    raw: dict[str, Any]

    def rule_for(self, check_name: str) -> Rule | None:
        return next((rule for rule in self.rules if fnmatchcase(check_name, rule.match)), None)

    def is_blocking(self, check_name: str) -> bool:
        """Policy of a check that is not a dbt test (GX, reconciliation, freshness, …)."""
        rule = self.rule_for(check_name)
        return (rule.policy if rule else self.other_default) == "block"

    def is_blocking_dbt_test(self, test_name: str, meta_blocking: bool) -> bool:
        rule = self.rule_for(test_name)
        if rule is not None:
            return rule.policy == "block"
        if self.dbt_default == "from_meta":
            return meta_blocking
        return self.dbt_default == "block"

    def section(self, name: str) -> dict[str, Any]:
        """Another top-level section of the file (thresholds of a kind of check)."""
        value = self.raw.get(name) or {}
        if not isinstance(value, dict):
            raise QualityConfigError(f"quality config: `{name}` must be a mapping")
        return value


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def parse_policy(raw: dict[str, Any], source: str = "quality config") -> CheckPolicy:
    rules = []
    for i, item in enumerate(raw.get("checks") or []):
        if not isinstance(item, dict) or "match" not in item or item.get("policy") not in _POLICIES:
            raise QualityConfigError(
                f"{source}: checks[{i}] must be {{match: <pattern>, policy: block|warn}}, "
                f"got {item!r}"
            )
        rules.append(Rule(str(item["match"]), item["policy"]))
    default = raw.get("default") or {}
    dbt_default = default.get("dbt_tests", "from_meta")
    other_default = default.get("other", "warn")
    if dbt_default not in ("from_meta", *_POLICIES) or other_default not in _POLICIES:
        raise QualityConfigError(
            f"{source}: default.dbt_tests must be from_meta|block|warn and default.other "
            f"block|warn, got {dbt_default!r} / {other_default!r}"
        )
    return CheckPolicy(tuple(rules), dbt_default, other_default, raw)


@cache
def _load(path: Path) -> CheckPolicy:
    if not path.exists():
        raise QualityConfigError(f"quality config {path} does not exist (${CONFIG_ENV})")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise QualityConfigError(f"{path}: expected a mapping at the top level")
    return parse_policy(raw, str(path))


def check_policy() -> CheckPolicy:
    return _load(config_path())


def is_blocking(check_name: str) -> bool:
    return check_policy().is_blocking(check_name)
