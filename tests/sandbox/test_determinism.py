"""Same arguments, same bytes; the manifest lists and checksums every file."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date

from ingestion.sandbox import advance, generate


def _tree(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_generate_twice_gives_identical_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    args = {"customers": 300, "days": 12, "seed": 11, "start": date(2025, 12, 15)}
    ma, mb = generate(a, **args), generate(b, **args)
    assert _tree(a) == _tree(b)
    assert ma == mb
    # the manifest's checksums are those of the files on disk
    on_disk = _tree(a)
    for rel, digest in ma["files"].items():
        assert on_disk[rel] == digest
    assert any(rel.startswith("clickstream/dt=") for rel in ma["files"])
    # a different seed is a different world
    c = tmp_path / "c"
    generate(c, **{**args, "seed": 12})
    assert _tree(c)["pos/pos.sqlite"] != on_disk["pos/pos.sqlite"]

    # advancing identical worlds identically keeps them identical
    shutil.copytree(a, tmp_path / "a2")
    advance(a, days=2)
    advance(tmp_path / "a2", days=2)
    assert _tree(a) == _tree(tmp_path / "a2")
    manifest = json.loads((a / "_truth" / "manifest.json").read_text())
    assert manifest["end_date"] == "2025-12-28"
    assert manifest["args"]["seed"] == 11
