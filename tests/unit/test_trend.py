"""The data-plane trend: rates, forecasts, stalls and losses from samples."""

from __future__ import annotations

import math

from influxdb_operator.influx.models import QueueCounters
from influxdb_operator.reconcile import dataplane
from influxdb_operator.reconcile.dataplane import Sample, Trend

MAX = 64 << 20
WINDOW = 30.0


def counters(queued: float, sent: float, failed: float = 0, dropped: float = 0) -> QueueCounters:
    return QueueCounters(
        bytes_queued=queued,
        bytes_sent=sent,
        bytes_failed_to_queue=failed,
        points_failed_to_queue=failed / 10,
        bytes_dropped=dropped,
    )


def trend_of(*samples: Sample) -> Trend:
    trend = Trend(horizon=2 * WINDOW)
    for sample in samples:
        trend.add(sample)
    return trend


def analyse(trend: Trend) -> dataplane.DataPlane:
    return dataplane.analyse(trend, max_queue_bytes=MAX, stalled_after=WINDOW)


def test_a_healthy_stream_drains_what_arrives() -> None:
    trend = trend_of(*(Sample(10.0 * i, 1 << 20, 0, counters(1000.0 * i, 1000.0 * i)) for i in range(5)))
    dp = analyse(trend)
    assert dp.fill_rate == dp.drain_rate == 100.0
    assert (dp.stalled, dp.losing) == (False, False)
    assert dp.queue_full_in == math.inf
    assert dp.backlog_drained_in == 0


def test_a_stall_is_seen_while_the_last_answer_still_looks_fine() -> None:
    # Data keeps arriving, nothing is sent, the backlog grows: stalled once the window is covered.
    samples = [Sample(10.0 * i, 1000 * i, 1000 * i + 1, counters(1000.0 * i, 0)) for i in range(5)]
    assert not analyse(trend_of(*samples[:3])).stalled  # 20 s seen: not yet a whole window
    dp = analyse(trend_of(*samples))
    assert dp.stalled
    assert dp.drain_rate == 0
    assert dp.backlog_rate == 100.0


def test_no_stall_without_a_backlog_or_without_arriving_data() -> None:
    quiet = [Sample(10.0 * i, 5000, 5000, counters(5000, 0)) for i in range(5)]  # nothing arrives
    assert not analyse(trend_of(*quiet)).stalled
    empty = [Sample(10.0 * i, 0, 0, counters(1000.0 * i, 1000.0 * i)) for i in range(5)]
    assert not analyse(trend_of(*empty)).stalled


def test_without_influxd_counters_the_backlog_alone_tells_a_stall() -> None:
    samples = [Sample(10.0 * i, 1000 * i, 1000 * i + 1, None) for i in range(5)]
    dp = analyse(trend_of(*samples))
    assert dp.fill_rate is None
    assert dp.stalled
    shrinking = [Sample(10.0 * i, 4000, 4000 - 500 * i, None) for i in range(5)]
    assert not analyse(trend_of(*shrinking)).stalled


def test_the_queue_full_forecast_follows_the_backlog_growth() -> None:
    rate = 1 << 20  # 1 MiB/s
    samples = [Sample(10.0 * i, rate * 10 * i, rate * 10 * i, counters(rate * 10.0 * i, 0)) for i in range(4)]
    dp = analyse(trend_of(*samples))
    assert dp.queue_full_in == (MAX - 30 * rate) / rate
    assert dp.backlog_drained_in == math.inf


def test_a_draining_backlog_forecasts_when_it_is_gone() -> None:
    samples = [Sample(10.0 * i, 8000, 8000 - 1000 * i, counters(0, 1000.0 * i)) for i in range(4)]
    assert analyse(trend_of(*samples)).backlog_drained_in == 50.0


def test_losses_count_since_watched_and_survive_an_influxd_restart() -> None:
    trend = trend_of(
        Sample(0, 0, 0, counters(0, 0, failed=500)),  # lost before we watched: not counted
        Sample(10, 0, 0, counters(0, 0, failed=700, dropped=50)),
        Sample(20, 0, 0, counters(0, 0, failed=100)),  # influxd restarted: counts anew
    )
    assert trend.dropped.bytes_queue_full == 200 + 100
    assert trend.dropped.bytes_non_retryable == 50
    assert analyse(trend).losing
    for i in range(3, 8):  # a quiet window later, the episode is over; the total stays
        trend.add(Sample(10.0 * i, 0, 0, counters(0, 0, failed=100)))
    assert not analyse(trend).losing
    assert trend.dropped.bytes == 350


def test_old_samples_are_dropped_past_the_horizon() -> None:
    trend = trend_of(*(Sample(10.0 * i, 0, 0, None) for i in range(100)))
    assert len(trend.samples) <= 2 * WINDOW / 10 + 2


def test_figures_are_rounded_for_status() -> None:
    assert dataplane.human_bytes(1536) == "1.5 KiB"
    assert dataplane.human_duration(3 * 3600 + 100) == "3h"
    assert dataplane.human_duration(math.inf) == "never"
    assert dataplane.significant(123456) == 120000


def test_one_long_interval_is_not_yet_a_stall() -> None:
    # Refreshes slower than the window (thousands of objects): two samples span it, but one interval is no trend.
    samples = [Sample(40.0 * i, 1000 * i, 1000 * i + 1, counters(1000.0 * i, 0)) for i in range(2)]
    assert not analyse(trend_of(*samples)).stalled
    assert analyse(trend_of(*samples, Sample(80.0, 2000, 2001, counters(2000.0, 0)))).stalled


def test_figures_shown_stay_put_while_the_rate_only_jitters() -> None:
    trend = trend_of(*(Sample(10.0 * i, 0, 0, counters(1000.0 * i, 1000.0 * i)) for i in range(5)))
    first = dataplane.steadied(trend, analyse(trend))
    trend.add(Sample(50, 0, 0, counters(5110, 5110)))  # ~10% faster for one interval
    assert dataplane.steadied(trend, analyse(trend)).fill_rate == first.fill_rate
    trend.add(Sample(60, 0, 0, counters(8000, 8000)))  # a real change
    assert dataplane.steadied(trend, analyse(trend)).fill_rate != first.fill_rate


def test_a_forecast_appears_although_never_was_shown_before() -> None:
    trend = trend_of(*(Sample(10.0 * i, 0, 0, None) for i in range(4)))
    assert dataplane.steadied(trend, analyse(trend)).queue_full_in == math.inf
    for i in range(4, 8):  # the backlog starts to grow: now there is a forecast
        trend.add(Sample(10.0 * i, 1000 * (i - 3), 1000 * (i - 3), None))
    assert math.isfinite(dataplane.steadied(trend, analyse(trend)).queue_full_in)
