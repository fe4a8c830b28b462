"""Prometheus metrics: per-Replication data-plane gauges, reconcile counts and
durations, and InfluxDB API calls by endpoint and outcome.

Served (`serve`) when `--metrics-port` is set: prometheus_client's registry for
the operator-wide metrics, `PerReplication` for the per-Replication ones, in
Prometheus' text format 0.0.4 (not OpenMetrics: the per-Replication lines are
written once in that format). Labels carry names and endpoints only; never a
URL's query or a token.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import ThreadingWSGIServer, generate_latest, gzip_accepted
from prometheus_client.utils import floatToGoString

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
refresh_seconds = Histogram(
    "influxdb_operator_refresh_duration_seconds",
    "One instance's refresh: its calls, then every dependent refreshed from them. The next starts a"
    " resyncPeriod after it ends.",
)
leader = Gauge(
    "influxdb_operator_leader", "1 while this process acts (it holds the Lease, or runs standalone), 0 standing by."
)
leader_changes = Counter(
    "influxdb_operator_leader_changes_total",
    "Changes of the Lease's holder this process saw, its own takeover included.",
)


def observe_influx_call(endpoint: str, method: str, outcome: str, seconds: float) -> None:
    influx_calls.labels(endpoint, method, outcome).inc()
    influx_call_seconds.labels(endpoint, method).observe(seconds)


Labels = tuple[str, str, str]  # a Replication's namespace, name and instance


@dataclass(frozen=True)
class Series:
    """One per-Replication metric; a counter's series are further split by cause."""

    name: str
    help: str
    causes: tuple[str, ...] = ()  # a counter's causes; none: a gauge


QUEUE_BYTES = Series("influxdb_replication_queue_bytes", "Bytes in the replication's on-disk queue.")
REMAINING_BYTES = Series("influxdb_replication_remaining_bytes", "Bytes still to be sent to the remote.")
LATEST_RESPONSE_CODE = Series("influxdb_replication_latest_response_code", "HTTP status of the remote's last answer.")
QUEUE_MAX_BYTES = Series("influxdb_replication_queue_max_bytes", "The queue's maxQueueSizeBytes.")
FILL_RATE = Series("influxdb_replication_fill_rate_bytes", "Bytes per second arriving in the queue.")
DRAIN_RATE = Series("influxdb_replication_drain_rate_bytes", "Bytes per second sent to the remote.")
QUEUE_FULL_IN = Series(
    "influxdb_replication_queue_full_in_seconds", "Forecast time until the queue is full (+Inf: not filling)."
)
QUEUE_FULL_WARNING = Series(
    "influxdb_replication_queue_full_warning_seconds", "The QueueFillingUp threshold of the Replication."
)
BACKLOG_DRAINED_IN = Series(
    "influxdb_replication_backlog_drained_in_seconds",
    "Forecast time until the backlog is sent (0: none, +Inf: not shrinking).",
)
HEARTBEAT_LAG = Series(
    "influxdb_replication_heartbeat_lag_seconds", "Age of the newest heartbeat that reached the remote."
)
STALLED = Series("influxdb_replication_stalled", "1 while the Replication is reported Stalled.")
READY = Series("influxdb_replication_ready", "1 while the Replication is Ready.")
DROPPED_BYTES = Series(
    "influxdb_replication_dropped_bytes",
    "Bytes lost since the operator started watching, by cause (queue_full, non_retryable).",
    ("queue_full", "non_retryable"),
)
DROPPED_POINTS = Series(
    "influxdb_replication_dropped_points", "Points refused by a full queue since watched.", ("queue_full",)
)
_SERIES = (
    QUEUE_BYTES,
    REMAINING_BYTES,
    LATEST_RESPONSE_CODE,
    QUEUE_MAX_BYTES,
    FILL_RATE,
    DRAIN_RATE,
    QUEUE_FULL_IN,
    QUEUE_FULL_WARNING,
    BACKLOG_DRAINED_IN,
    HEARTBEAT_LAG,
    STALLED,
    READY,
    DROPPED_BYTES,
    DROPPED_POINTS,
)
# A Replication's values in one tuple: a slot per gauge and per counter cause, in exposition order.
_SLOTS = [(series, cause) for series in _SERIES for cause in series.causes or ("",)]
_SLOT = {slot: i for i, slot in enumerate(_SLOTS)}


class _Row(NamedTuple):
    values: tuple[float | None, ...]  # by slot; None: not known (not exposed)
    lines: tuple[str, ...]  # by slot, as exposed ("" for None)


def _lines(labels: Labels, values: tuple[float | None, ...]) -> tuple[str, ...]:
    namespace, name, instance = (_escape(label) for label in labels)
    # Labels sorted by name, as prometheus_client writes them.
    selector = f'instance="{instance}",name="{name}",namespace="{namespace}"'
    lines = []
    for (series, cause), value in zip(_SLOTS, values, strict=True):
        if value is None:
            lines.append("")
        elif series.causes:
            lines.append(f'{series.name}_total{{cause="{cause}",{selector}}} {_number(value)}\n')
        else:
            lines.append(f"{series.name}{{{selector}}} {_number(value)}\n")
    return tuple(lines)


def _number(value: float) -> str:
    """As prometheus_client writes a value ("+Inf", "6.710886e+07")."""
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


def _escape(label: str) -> str:
    return label.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class PerReplication:
    """Every Replication's series as one tuple of values and its exposition
    lines, made when a value changes; a scrape only joins them. prometheus_client's
    labelled children (a lock and a value object each, fifteen per Replication)
    held 85 MiB at 10,000, and its formatting of every sample made a scrape
    cost seconds of CPU. Updated from the event loop only; a scrape (another
    thread) reads whole rows, which are replaced, never changed."""

    def __init__(self) -> None:
        self._rows: dict[Labels, _Row] = {}

    def update(
        self,
        labels: Labels,
        gauges: Mapping[Series, float | None],
        increments: Mapping[Series, Mapping[str, float]] = {},
    ) -> None:
        """Sets `gauges` (None leaves one as it was) and adds `increments` by cause."""
        row = self._rows.get(labels)
        values: list[float | None] = list(row.values) if row else [None] * len(_SLOTS)
        for series, value in gauges.items():
            if value is not None:
                values[_SLOT[series, ""]] = float(value)
        for series, by_cause in increments.items():
            for cause, amount in by_cause.items():
                slot = _SLOT[series, cause]
                values[slot] = (values[slot] or 0.0) + amount
        new = tuple(values)
        if row is None or new != row.values:
            self._rows[labels] = _Row(new, _lines(labels, new))

    def forget(self, labels: Labels) -> None:
        self._rows.pop(labels, None)

    def exposition(self) -> str:
        """Prometheus' text format (0.0.4) of every series."""
        rows = list(self._rows.values())
        out = []
        slot = 0
        for series in _SERIES:
            name, kind = (f"{series.name}_total", "counter") if series.causes else (series.name, "gauge")
            out.append(f"# HELP {name} {series.help}\n# TYPE {name} {kind}\n")
            for _ in series.causes or ("",):
                out.extend(row.lines[slot] for row in rows)
                slot += 1
        return "".join(out)


replications = PerReplication()


def set_ready(kind: str, namespace: str, name: str, instance: str, is_ready: bool) -> None:
    """The Ready gauge; only Replications have per-object series."""
    if kind == "Replication":
        replications.update((namespace, name, instance), {READY: 1 if is_ready else 0})


_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    if environ["REQUEST_METHOD"] != "GET":
        start_response("405 Method Not Allowed", [("Allow", "GET")])
        return [b""]
    body = generate_latest(REGISTRY) + replications.exposition().encode()
    headers = [("Content-Type", _CONTENT_TYPE)]
    if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", "")):
        body = gzip.compress(body, compresslevel=1)  # tens of MiB at 10,000: the fastest level
        headers.append(("Content-Encoding", "gzip"))
    start_response("200 OK", headers)
    return [body]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """A scrape is not worth a log line."""


_serving: set[tuple[str, int]] = set()


def serve(port: int, address: str) -> None:
    """/metrics on `port`, from a thread of its own; `address` may be IPv6.
    Once per address and port: a standby serves them before kopf's start-up asks again."""
    if (address, port) in _serving:
        return
    _serving.add((address, port))
    family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

    class Server(ThreadingWSGIServer):
        address_family = family

    server: WSGIServer = make_server(address, port, _app, Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
