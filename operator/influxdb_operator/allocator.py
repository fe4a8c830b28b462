"""glibc's allocator, set for a process that reads answers of megabytes every
period (a listing of 10,000 replications, influxd's `/metrics`) and otherwise
holds many small objects.

glibc raises its mmap threshold each time such a block is freed, so the next
ones come from the heap, where what is freed between small long-lived objects
stays counted in the RSS; a fixed threshold keeps them in mmap, returned when
freed. Fewer arenas keep threads (kopf's executor, the metrics server) from
each growing heaps of their own. Either is left as set where the environment
sets it (MALLOC_MMAP_THRESHOLD_, MALLOC_ARENA_MAX). Elsewhere (musl) nothing is
changed.
"""

from __future__ import annotations

import ctypes
import os
import time

M_MMAP_THRESHOLD = -3  # <malloc.h>
M_ARENA_MAX = -8


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def tune() -> None:
    if _LIBC is None:
        return
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        _LIBC.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    if "MALLOC_ARENA_MAX" not in os.environ:
        _LIBC.mallopt(M_ARENA_MAX, 2)


_trimmed = 0.0


def trim(every: float = 30.0) -> None:
    """Hands the heap's free pages back to the system, at most once per `every`
    seconds: after a refresh has let go of a period's answers."""
    global _trimmed
    if _LIBC is not None and time.monotonic() - _trimmed >= every:
        _trimmed = time.monotonic()
        _LIBC.malloc_trim(0)
