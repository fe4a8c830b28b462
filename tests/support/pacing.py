"""Steady traffic for tests and the bench: writes paced by the clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def paced(write: Callable[[int], None], *, every: float) -> Iterator[list[int]]:
    """Calls write(batch number) every `every` seconds, paced by the clock, in a
    thread until the block ends; yields [batches written, failures]. A failed
    write is counted, not raised: the caller says what a failure means."""
    done, counts = threading.Event(), [0, 0]

    def loop() -> None:
        start = time.monotonic()
        n = 0
        while not done.is_set():
            try:
                write(n)
                counts[0] += 1
            except Exception:  # noqa: BLE001 - counted for the caller
                counts[1] += 1
            n += 1
            done.wait(max(0.0, start + n * every - time.monotonic()))

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield counts
    finally:
        done.set()
        thread.join(30)
