"""Which landing files (``<system>/dt=YYYY-MM-DD/*``) arrived since the last look.

The cursor is the newest modification time seen plus how many files there were then: a newer
mtime means new files, and a higher count with no newer mtime catches files copied in with
their old timestamps kept (``cp -p``, ``rsync -t``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

LANDING_SYSTEMS = ("clickstream", "messaging", "marketing")


@dataclass(frozen=True)
class LandingFile:
    path: str  # relative to the sources dir, e.g. clickstream/dt=2026-01-03/part-0.jsonl.gz
    mtime: float

    @property
    def partition(self) -> str:
        return str(Path(self.path).parent)


@dataclass(frozen=True)
class LandingCursor:
    newest_mtime: float
    file_count: int

    def serialize(self) -> str:
        return json.dumps({"newest_mtime": self.newest_mtime, "file_count": self.file_count})

    @classmethod
    def parse(cls, text: str | None) -> LandingCursor | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(float(data["newest_mtime"]), int(data["file_count"]))


def scan_landing_files(sources_dir: Path) -> list[LandingFile]:
    files = []
    for system in LANDING_SYSTEMS:
        for path in sorted((sources_dir / system).glob("dt=*/*")):
            # Writers land a file under a temporary name and rename it: skip those in flight.
            if path.is_file() and not path.name.startswith((".", "_")):
                rel = path.relative_to(sources_dir).as_posix()
                files.append(LandingFile(rel, path.stat().st_mtime))
    return files


def cursor_for(files: list[LandingFile]) -> LandingCursor:
    return LandingCursor(max((f.mtime for f in files), default=0.0), len(files))


def new_since(files: list[LandingFile], cursor: LandingCursor) -> list[LandingFile]:
    newer = [f for f in files if f.mtime > cursor.newest_mtime]
    if newer or len(files) <= cursor.file_count:
        return newer
    # More files but none newer: they kept old timestamps, so every file is a candidate.
    return files


def run_key_for(new_files: list[LandingFile]) -> str:
    listing = "\n".join(f"{f.path}@{f.mtime}" for f in sorted(new_files, key=lambda f: f.path))
    return "landing-" + hashlib.sha256(listing.encode()).hexdigest()[:16]
