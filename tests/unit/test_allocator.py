"""What `allocator.trim` is for: memory freed between objects still held
stays in the process (glibc keeps it in its heap) until trimmed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from influxdb_operator import allocator

SCRIPT = textwrap.dedent(
    """
    from influxdb_operator import allocator

    def rss():
        return next(int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("VmRSS"))

    allocator.tune()
    blocks = [bytearray(64 * 1024) for _ in range(3000)]  # ~190 MiB of blocks under the mmap threshold
    del blocks[:-1]  # freed, below the one still held
    freed = rss()
    allocator.trim(every=0)
    print(freed, rss())
    """
)


@pytest.mark.skipif(allocator._LIBC is None, reason="not glibc: nothing to tune or trim")
def test_trim_returns_the_freed_heap() -> None:
    env = os.environ | {"PYTHONPATH": str(Path(allocator.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, env=env)
    freed, trimmed = map(int, done.stdout.split())
    assert freed > 150, f"the freed blocks stay in the RSS until trimmed ({freed} MiB)"
    assert trimmed < freed - 120, f"trimmed: {freed} -> {trimmed} MiB"
