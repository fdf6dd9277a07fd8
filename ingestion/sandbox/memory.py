"""How a run's memory is allocated: one heap for Arrow, numpy and Python, few glibc arenas.

Arrow's default pool (mimalloc in the wheels) keeps what a chunk freed in per-thread heaps of
its own, next to the C heap that numpy, pandas, SQLite and Python use: two allocators each
holding a chunk's worth of freed pages. For the length of a run Arrow allocates from the C
heap instead (``pa.system_memory_pool``), so freed buffers are reused by whoever allocates
next. glibc gives every thread that allocates its own arena (up to eight per core); the
run's writer threads then each keep their own free pages, so the process is capped at
``ARENAS`` of them. Neither changes a byte of the output. 100k x 365 days: 942-1033 MiB peak
RSS before, 819-852 MiB after (the README's "Speed" part).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

ARENAS = 2  # glibc malloc arenas: one per core of the machine the targets are set for
_M_ARENA_MAX = -8  # mallopt parameter number, from glibc's malloc.h


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads created from now on (no-op elsewhere).

    Returns whether the cap was set. Process-wide, like ``MALLOC_ARENA_MAX``; fewer arenas
    cost a little lock contention between threads, nothing on two cores.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


@contextmanager
def run_memory() -> Iterator[None]:
    """Arrow allocates from the C heap (and glibc keeps few arenas) inside the block."""
    limit_malloc_arenas()
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)
