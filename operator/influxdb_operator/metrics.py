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


def forget_replication(namespace: str, name: str, instance: str) -> None:
    for gauge in (queue_bytes, remaining_bytes, latest_response_code):
        with contextlib.suppress(KeyError):
            gauge.remove(namespace, name, instance)
