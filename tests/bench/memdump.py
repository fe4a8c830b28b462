"""Runs `python -m MODULE ARGS...` under tracemalloc and, on SIGUSR1, writes
where the memory it holds was allocated: `make bench`'s BENCH_PROFILE=memory.
While it runs, not at exit: by then kopf has let go of its indexes and our state.
Tracing starts once the PRELOAD modules are imported (traced, the imports
of kopf and the Kubernetes client take minutes): what they hold is left out.

Usage: python tests/bench/memdump.py OUT PRELOAD,... -m MODULE ARGS...
"""

from __future__ import annotations

import importlib
import runpy
import signal
import sys
import threading
import time
import tracemalloc
from pathlib import Path


def _dump(out: Path) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    stats = snapshot.statistics("traceback")
    total = sum(stat.size for stat in stats)
    peak = tracemalloc.get_traced_memory()[1]
    lines = [
        f"traced memory held: {total / 2**20:.1f} MiB in {len(stats)} places (peak {peak / 2**20:.1f} MiB); the top 15:"
    ]
    for stat in stats[:15]:
        lines.append(f"{stat.size / 2**20:8.1f} MiB in {stat.count} blocks, allocated at:")
        lines += [f"      {line}" for line in stat.traceback.format(limit=8, most_recent_first=True)]
    partial = out.with_name(out.name + ".partial")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(out)  # whole or not at all, for the bench waiting on it


def _watch_peak(out: Path) -> None:
    """Dumps to OUT.peak whenever the traced memory is a fifth above the last dump's:
    the last one written shows what the peak was made of."""
    dumped = 0
    while True:
        time.sleep(1)
        current = tracemalloc.get_traced_memory()[0]
        if current > 1.2 * dumped:
            _dump(out.with_suffix(".peak"))
            dumped = current


def main() -> None:
    out, preload, flag, module, *args = sys.argv[1:]
    assert flag == "-m", "usage: memdump.py OUT PRELOAD,... -m MODULE ARGS..."
    signal.signal(signal.SIGUSR1, lambda *_: _dump(Path(out)))
    sys.argv = [module, *args]
    for name in preload.split(","):
        importlib.import_module(name)
    tracemalloc.start(8)
    threading.Thread(target=_watch_peak, args=(Path(out),), daemon=True).start()
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
