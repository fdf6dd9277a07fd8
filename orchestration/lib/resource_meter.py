"""Sample the resident memory of this process and its children (dbt, the sandbox server)."""

from __future__ import annotations

import contextlib
import threading
import time

import psutil


class ResourceMeter:
    """Background sampler of total RSS; ask for the peak within any time window afterwards."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-meter", daemon=True)
        self._process = psutil.Process()

    def _rss(self) -> int:
        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            # The child may exit between listing and reading.
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._rss()))
            self._stop.wait(self.interval)

    def __enter__(self) -> ResourceMeter:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.time(), self._rss()))

    def peak_mb(self, start: float | None = None, end: float | None = None) -> float:
        window = [
            rss
            for at, rss in self.samples
            if (start is None or at >= start) and (end is None or at <= end)
        ]
        return round(max(window, default=0) / 2**20, 1)
