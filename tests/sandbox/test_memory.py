"""A run allocates Arrow memory from the C heap and gives the process its pool back."""

from __future__ import annotations

import contextlib
import hashlib
from datetime import date

import pyarrow as pa

from ingestion.sandbox import generate, world


def _tree(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_run_memory_changes_no_byte_and_restores_the_pool(tmp_path, monkeypatch):
    args = {"customers": 200, "days": 6, "seed": 5, "start": date(2025, 11, 25)}
    before = pa.default_memory_pool().backend_name
    seen = []
    real_run = world._run

    def spy(*a, **k):
        seen.append(pa.default_memory_pool().backend_name)
        return real_run(*a, **k)

    monkeypatch.setattr(world, "_run", spy)
    generate(tmp_path / "system", **args)
    assert seen == ["system"]
    # the rest of the process (ingestion, dbt) keeps Arrow's own pool
    assert pa.default_memory_pool().backend_name == before

    monkeypatch.setattr(world, "run_memory", contextlib.nullcontext)
    generate(tmp_path / "default", **args)
    assert seen[-1] == before
    assert _tree(tmp_path / "system") == _tree(tmp_path / "default")
