"""The fence stands in front of both HTTP clients of the process: once the
leadership lapsed, neither aiohttp (kopf, InfluxDB) nor urllib3 (the
Kubernetes client) lets a request reach the server. A server of the test's
own counts what arrives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import pytest
import urllib3

from influxdb_operator.leadership import fencing


class Fenced(Exception):
    pass


def _refuse(why: str) -> None:
    raise Fenced(why)


FENCE = fencing.Fence(_refuse)


class _Counting(BaseHTTPRequestHandler):
    arrived = 0

    def do_PATCH(self) -> None:
        _Counting.arrived += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    fencing.install(FENCE)  # once per process: the patch stays, the fence is left open
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    FENCE.disarm()


async def _aiohttp_patch(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.patch(url, json={}) as response:
        return response.status


def _urllib3_patch(url: str) -> int:
    return urllib3.PoolManager(retries=False).request("PATCH", url, body=b"{}").status


async def test_a_leader_in_time_sends_through_both_clients(url: str) -> None:
    FENCE.lead_until(fencing.clock() + 60)
    before = _Counting.arrived
    assert await _aiohttp_patch(url) == 204
    assert _urllib3_patch(url) == 204
    assert _Counting.arrived == before + 2


async def test_a_lapsed_leader_sends_nothing_through_either(url: str) -> None:
    FENCE.disarm()
    FENCE.lead_until(fencing.clock() - 0.001)
    before = _Counting.arrived
    with pytest.raises(Fenced, match="lapsed"):
        await _aiohttp_patch(url)
    with pytest.raises(Fenced, match="lapsed"):
        _urllib3_patch(url)
    assert _Counting.arrived == before
    FENCE.disarm()
