"""Runs `python -m MODULE ARGS...` under tracemalloc and, at exit, prints
where the memory still held was allocated: `make bench`'s BENCH_PROFILE=memory.

Usage: python -X tracemalloc=8 tests/bench/memdump.py OUT -m MODULE ARGS...
"""

from __future__ import annotations

import atexit
import runpy
import sys
import tracemalloc
from pathlib import Path


def _dump(out: Path) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    stats = snapshot.statistics("traceback")
    total = sum(stat.size for stat in stats)
    lines = [f"traced memory held at exit: {total / 2**20:.1f} MiB in {len(stats)} places; the top 15:"]
    for stat in stats[:15]:
        lines.append(f"{stat.size / 2**20:8.1f} MiB in {stat.count} blocks, allocated at:")
        lines += [f"      {line}" for line in stat.traceback.format(limit=8, most_recent_first=True)]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    out, flag, module, *args = sys.argv[1:]
    assert flag == "-m", "usage: memdump.py OUT -m MODULE ARGS..."
    atexit.register(_dump, Path(out))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
