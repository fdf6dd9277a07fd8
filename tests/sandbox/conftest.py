"""Small sandbox worlds shared by the sandbox tests (built once per session)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from ingestion.sandbox import advance, generate

# 36 days: four simulation chunks, so records crossing chunk boundaries are exercised too.
WORLD = {"customers": 2000, "days": 36, "seed": 7, "start": date(2025, 11, 10)}


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """~2k people over 36 days spanning Black Friday."""
    out = tmp_path_factory.mktemp("sandbox") / "world"
    generate(out, **WORLD)
    return out


@pytest.fixture(scope="session")
def advanced(world, tmp_path_factory) -> tuple[Path, dict]:
    """A copy of ``world`` moved on by 5 days; returns (dir, manifest before advancing)."""
    out = tmp_path_factory.mktemp("sandbox") / "advanced"
    shutil.copytree(world, out)
    before = json.loads((out / "_truth" / "manifest.json").read_text())
    advance(out, days=5)  # test_advance.ADVANCE_DAYS
    return out, before
