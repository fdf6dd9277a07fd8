"""Reading a finished ``dbt build``: which blocking tests failed, which models broke or were
skipped (dbt skips every model below a failed ``error``-severity test, blocking or not)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestration.lib.dbt_translator import is_blocking_test

_FAILED = {"fail", "error"}
_TEST_PREFIXES = ("test.", "unit_test.")


@dataclass(frozen=True)
class DbtBuildProblems:
    failed_blocking_tests: list[str] = field(default_factory=list)
    failed_other_tests: list[str] = field(default_factory=list)
    broken_nodes: list[str] = field(default_factory=list)
    skipped_nodes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = []
        if self.failed_blocking_tests:
            parts.append("blocking dbt tests failed: " + ", ".join(self.failed_blocking_tests))
        if self.broken_nodes:
            parts.append("dbt nodes errored: " + ", ".join(self.broken_nodes))
        if self.failed_other_tests:
            parts.append("non-blocking dbt tests failed: " + ", ".join(self.failed_other_tests))
        if self.skipped_nodes:
            parts.append(
                f"dbt skipped {len(self.skipped_nodes)} models below the failures: "
                + ", ".join(self.skipped_nodes)
            )
        return "; ".join(parts)

    def __bool__(self) -> bool:
        # A failed test that is not blocking and skipped nothing is only reported.
        return bool(self.failed_blocking_tests or self.broken_nodes or self.skipped_nodes)


def _label(result: Mapping[str, Any], nodes: Mapping[str, Any]) -> str:
    name = nodes.get(result["unique_id"], {}).get("name") or result["unique_id"]
    message = (result.get("message") or "").strip().splitlines()
    return f"{name} ({message[0]})" if message else name


def build_problems(run_results: Mapping[str, Any], manifest: Mapping[str, Any]) -> DbtBuildProblems:
    nodes = manifest.get("nodes", {})
    problems = DbtBuildProblems()
    for result in run_results.get("results", []):
        unique_id, status = result["unique_id"], result.get("status")
        is_test = unique_id.startswith(_TEST_PREFIXES)
        if status in _FAILED and is_test:
            blocking = is_blocking_test(nodes.get(unique_id, {}))
            target = problems.failed_blocking_tests if blocking else problems.failed_other_tests
            target.append(_label(result, nodes))
        elif status in _FAILED:
            problems.broken_nodes.append(_label(result, nodes))
        elif status == "skipped" and not is_test:
            problems.skipped_nodes.append(nodes.get(unique_id, {}).get("name") or unique_id)
    return problems
