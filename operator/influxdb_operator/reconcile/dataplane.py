"""The data plane of one replication, as a trend rather than a snapshot.

Each refresh adds a sample (the API's queue and backlog, plus influxd's own
counters where its `/metrics` is on); from the samples of the last window
come the fill and drain rates, the forecasts, whether the stream is stalled
and whether data is being lost. Pure: the caller keeps the `Trend` (in
memory; after a restart it is rebuilt) and supplies the clock.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field, replace

from ..influx.models import QueueCounters


@dataclass(frozen=True, slots=True)  # slots: a few per Replication, kept for minutes
class Sample:
    at: float  # seconds, monotonic
    queue_bytes: int  # currentQueueSizeBytes: what counts against maxQueueSizeBytes
    remaining_bytes: int  # remainingBytesToBeSynced: the real backlog
    counters: QueueCounters | None  # None where influxd's /metrics is off


@dataclass
class Dropped:
    """Data lost since the operator started watching."""

    bytes_queue_full: int = 0  # refused by a full queue
    points_queue_full: int = 0
    bytes_non_retryable: int = 0  # rejected by the remote and dropped (dropNonRetryableData)

    @property
    def bytes(self) -> int:
        return self.bytes_queue_full + self.bytes_non_retryable


def _increase(before: float, after: float) -> float:
    """A counter's increase; a decrease means influxd restarted and counts anew."""
    return after - before if after >= before else after


@dataclass
class Trend:
    """One replication's recent samples (oldest first) and its losses."""

    horizon: float  # how long samples are kept, in seconds
    samples: deque[Sample] = field(default_factory=deque)
    # Losses since watched; a restarted operator starts from what status said.
    dropped: Dropped = field(default_factory=Dropped)
    last_loss_at: float | None = None
    # The figures last shown in status, kept while new ones stay near them.
    shown: dict[str, float] = field(default_factory=dict)

    def add(self, sample: Sample) -> Dropped:
        """Adds `sample`; returns what was lost since the previous one."""
        previous = self.samples[-1] if self.samples else None
        lost = Dropped()
        if previous is not None and previous.counters is not None and sample.counters is not None:
            old, new = previous.counters, sample.counters
            lost.bytes_queue_full = int(_increase(old.bytes_failed_to_queue, new.bytes_failed_to_queue))
            lost.points_queue_full = int(_increase(old.points_failed_to_queue, new.points_failed_to_queue))
            lost.bytes_non_retryable = int(_increase(old.bytes_dropped, new.bytes_dropped))
            self.dropped.bytes_queue_full += lost.bytes_queue_full
            self.dropped.points_queue_full += lost.points_queue_full
            self.dropped.bytes_non_retryable += lost.bytes_non_retryable
            if lost.bytes or lost.points_queue_full:
                self.last_loss_at = sample.at
        self.samples.append(sample)
        # Keep one sample older than the horizon, so a window of it is covered,
        # and at least three (two intervals), however slow the samples come.
        while len(self.samples) > 3 and self.samples[1].at <= sample.at - self.horizon:
            self.samples.popleft()
        return lost


@dataclass(frozen=True)
class DataPlane:
    fill_rate: float | None  # bytes/s into the queue; None without influxd's counters
    drain_rate: float | None  # bytes/s sent to the remote
    backlog_rate: float  # bytes/s the backlog grows (negative: shrinks)
    queue_full_in: float  # seconds until the queue is full at this rate; inf when not filling
    backlog_drained_in: float  # seconds until the backlog is gone; 0 when empty, inf when not shrinking
    stalled: bool  # a backlog that has not shrunk for the window while data arrives
    losing: bool  # data was dropped within the window
    dropped: Dropped
    window: float  # seconds the figures cover; 0 until two samples exist
    covered: bool  # the window is as long as asked: the figures are settled


def _window(trend: Trend, seconds: float) -> list[Sample]:
    """The samples of the last `seconds`, starting at the newest one at least
    that old (if any), and at least the last two intervals."""
    samples = list(trend.samples)
    newest = samples[-1].at
    start = max((i for i, s in enumerate(samples) if s.at <= newest - seconds), default=0)
    return samples[min(start, max(0, len(samples) - 3)) :]


def _rate(before: float, after: float, seconds: float) -> float | None:
    """Per second; None across a counter reset, where the window says nothing."""
    return (after - before) / seconds if seconds > 0 and after >= before else None


def analyse(trend: Trend, *, max_queue_bytes: int, stalled_after: float) -> DataPlane:
    """The figures of `trend` over the last `stalled_after` seconds."""
    window = _window(trend, stalled_after)
    first, last = window[0], window[-1]
    span = last.at - first.at
    fill = drain = None
    if first.counters is not None and last.counters is not None:
        fill = _rate(first.counters.bytes_queued, last.counters.bytes_queued, span)
        drain = _rate(first.counters.bytes_sent, last.counters.bytes_sent, span)
    backlog_rate = (last.remaining_bytes - first.remaining_bytes) / span if span > 0 else 0.0
    free = max(0, max_queue_bytes - last.queue_bytes)
    full_in = free / backlog_rate if backlog_rate > 0 else math.inf
    if last.remaining_bytes == 0:
        drained_in = 0.0
    else:
        drained_in = last.remaining_bytes / -backlog_rate if backlog_rate < 0 else math.inf
    # Settled once the window is covered by at least two intervals: a single
    # slow interval (a refresh that took long at scale) is not yet a trend.
    covered = span >= stalled_after and len(window) >= 3
    backlog = all(s.remaining_bytes > 0 for s in window)
    if fill is not None and drain is not None:
        arriving, progressing = fill > 0, drain > 0
    else:
        arriving = last.remaining_bytes > first.remaining_bytes
        progressing = any(b.remaining_bytes < a.remaining_bytes for a, b in itertools.pairwise(window))
    losing = trend.last_loss_at is not None and trend.last_loss_at >= last.at - stalled_after
    return DataPlane(
        fill_rate=fill,
        drain_rate=drain,
        backlog_rate=backlog_rate,
        queue_full_in=full_in,
        backlog_drained_in=drained_in,
        stalled=covered and backlog and arriving and not progressing,
        losing=losing,
        dropped=trend.dropped,
        window=span,
        covered=covered,
    )


STEADY = 0.25  # a shown figure changes only when the new one is this far from it


def steadied(trend: Trend, dp: DataPlane) -> DataPlane:
    """`dp` with each forecast and rate kept at the value last shown while it
    stays within STEADY of it: jitter between refreshes then writes nothing."""

    def keep(name: str, value: float | None) -> float | None:
        if value is None:
            return None
        before = trend.shown.get(name)
        if before is not None and (before == value or _near(before, value)):
            return before
        trend.shown[name] = value
        return value

    return replace(
        dp,
        fill_rate=keep("fill", dp.fill_rate),
        drain_rate=keep("drain", dp.drain_rate),
        queue_full_in=keep("full", dp.queue_full_in) or 0.0,
        backlog_drained_in=keep("drained", dp.backlog_drained_in) or 0.0,
    )


def _near(before: float, value: float) -> bool:
    """Within STEADY of each other; never across finite and infinite."""
    finite = math.isfinite(before) and math.isfinite(value)
    return finite and abs(value - before) <= STEADY * abs(before)


def significant(value: float, digits: int = 2) -> float:
    """`value` to `digits` significant digits: steady figures stay the same in
    status, so a steady trend does not rewrite it every period."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def human_bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{significant(value):g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    """Coarse on purpose (one unit, two digits): "45s", "12m", "3.5h", "2d"."""
    if not math.isfinite(seconds):
        return "never"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{significant(seconds / size):g}{unit}"
    return f"{significant(seconds):g}s"
