"""The operator's /metrics server, scraped as Prometheus scrapes it: text
format 0.0.4, gzipped when asked, on IPv4 or IPv6."""

from __future__ import annotations

import gzip
import socket
import urllib.error
import urllib.request

import pytest

from influxdb_operator import metrics
from sandbox import processes

LABELS = ("ns", "served", "edge")


@pytest.fixture(scope="module")
def url() -> str:
    port = processes.free_port()
    metrics.serve(port, "127.0.0.1")
    return f"http://127.0.0.1:{port}/metrics"


def test_a_scrape_holds_both_kinds_gzipped_when_asked(url: str) -> None:
    metrics.replications.update(LABELS, {metrics.QUEUE_MAX_BYTES: 67108860})
    try:
        request = urllib.request.Request(url, headers={"Accept-Encoding": "deflate, GZIP;q=1.0"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            assert response.headers["Content-Encoding"] == "gzip"
            text = gzip.decompress(response.read()).decode()
        with urllib.request.urlopen(url, timeout=10) as plain:
            assert plain.headers.get("Content-Encoding") is None
            assert plain.read().decode().splitlines()[-3:] == text.splitlines()[-3:]
    finally:
        metrics.replications.forget(LABELS)
    line = 'influxdb_replication_queue_max_bytes{instance="edge",name="served",namespace="ns"} 6.710886e+07'
    assert line in text.splitlines(), "written as prometheus_client writes a value"
    assert "# TYPE influxdb_operator_influxdb_api_calls_total counter" in text


def test_only_get_is_served(url: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10)
    refused.value.close()
    assert refused.value.code == 405


def test_an_ipv6_address_is_served() -> None:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
            port = int(sock.getsockname()[1])
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    metrics.serve(port, "::1")
    with urllib.request.urlopen(f"http://[::1]:{port}/metrics", timeout=10) as response:
        assert b"influxdb_operator_influxdb_api_calls_total" in response.read()
