"""Prometheus metrics: per-Replication data-plane gauges, reconcile counts and
durations, and InfluxDB API calls by endpoint and outcome.

Served by `prometheus_client`'s own HTTP server when `--metrics-port` is set.
Labels carry names and endpoints only; never a URL's query or a token.
"""

from __future__ import annotations

import contextlib

from prometheus_client import Counter, Gauge, Histogram

_REPLICATION = ("namespace", "name", "instance")

queue_bytes = Gauge("influxdb_replication_queue_bytes", "Bytes in the replication's on-disk queue.", _REPLICATION)
remaining_bytes = Gauge("influxdb_replication_remaining_bytes", "Bytes still to be sent to the remote.", _REPLICATION)
latest_response_code = Gauge(
    "influxdb_replication_latest_response_code", "HTTP status of the remote's last answer.", _REPLICATION
)
reconciles = Counter("influxdb_operator_reconciles_total", "Reconciles by kind and outcome.", ("kind", "outcome"))
reconcile_seconds = Histogram("influxdb_operator_reconcile_duration_seconds", "Time spent in one reconcile.", ("kind",))
influx_calls = Counter(
    "influxdb_operator_influxdb_api_calls_total",
    "InfluxDB API calls by endpoint, method and status (or error class).",
    ("endpoint", "method", "status"),
)
influx_call_seconds = Histogram(
    "influxdb_operator_influxdb_api_call_duration_seconds", "InfluxDB API call latency.", ("endpoint", "method")
)


def observe_influx_call(endpoint: str, method: str, outcome: str, seconds: float) -> None:
    influx_calls.labels(endpoint, method, outcome).inc()
    influx_call_seconds.labels(endpoint, method).observe(seconds)


queue_max_bytes = Gauge("influxdb_replication_queue_max_bytes", "The queue's maxQueueSizeBytes.", _REPLICATION)
fill_rate = Gauge("influxdb_replication_fill_rate_bytes", "Bytes per second arriving in the queue.", _REPLICATION)
drain_rate = Gauge("influxdb_replication_drain_rate_bytes", "Bytes per second sent to the remote.", _REPLICATION)
queue_full_in = Gauge(
    "influxdb_replication_queue_full_in_seconds",
    "Forecast time until the queue is full (+Inf: not filling).",
    _REPLICATION,
)
queue_full_warning = Gauge(
    "influxdb_replication_queue_full_warning_seconds", "The QueueFillingUp threshold of the Replication.", _REPLICATION
)
backlog_drained_in = Gauge(
    "influxdb_replication_backlog_drained_in_seconds",
    "Forecast time until the backlog is sent (0: none, +Inf: not shrinking).",
    _REPLICATION,
)
heartbeat_lag = Gauge(
    "influxdb_replication_heartbeat_lag_seconds", "Age of the newest heartbeat that reached the remote.", _REPLICATION
)
stalled = Gauge("influxdb_replication_stalled", "1 while the Replication is reported Stalled.", _REPLICATION)
ready = Gauge("influxdb_replication_ready", "1 while the Replication is Ready.", _REPLICATION)
dropped_bytes = Counter(
    "influxdb_replication_dropped_bytes",
    "Bytes lost since the operator started watching, by cause (queue_full, non_retryable).",
    (*_REPLICATION, "cause"),
)
dropped_points = Counter(
    "influxdb_replication_dropped_points", "Points refused by a full queue since watched.", (*_REPLICATION, "cause")
)

_PER_REPLICATION = (
    queue_bytes,
    remaining_bytes,
    latest_response_code,
    queue_max_bytes,
    fill_rate,
    drain_rate,
    queue_full_in,
    queue_full_warning,
    backlog_drained_in,
    heartbeat_lag,
    stalled,
    ready,
)


def set_replication(
    namespace: str, name: str, instance: str, *, queue: int | None, remaining: int | None, code: int | None
) -> None:
    labels = (namespace, name, instance)
    if queue is not None:
        queue_bytes.labels(*labels).set(queue)
    if remaining is not None:
        remaining_bytes.labels(*labels).set(remaining)
    if code is not None:
        latest_response_code.labels(*labels).set(code)


def set_ready(kind: str, namespace: str, name: str, instance: str, is_ready: bool) -> None:
    """The Ready gauge; only Replications have per-object series."""
    if kind == "Replication":
        ready.labels(namespace, name, instance).set(1 if is_ready else 0)


def forget_replication(namespace: str, name: str, instance: str) -> None:
    for gauge in _PER_REPLICATION:
        with contextlib.suppress(KeyError):
            gauge.remove(namespace, name, instance)
    for counter, causes in ((dropped_bytes, ("queue_full", "non_retryable")), (dropped_points, ("queue_full",))):
        for cause in causes:
            with contextlib.suppress(KeyError):
                counter.remove(namespace, name, instance, cause)
