"""A loopback HTTP proxy in front of influxd that can hold back answers.

It forwards every request; while `hold` is set, the answer to a POST that
creates a replication or remote is kept back after InfluxDB has acted on it,
which recreates exactly the window in which a crash loses the new ID.
`arm` holds another request instead (matched as "METHOD /path" by a regular
expression), after InfluxDB answered it or before it is even forwarded.
`carried` tells whether a request has carried a token: when a sender took up
a new one. `answer` stands in for the server: the next requests matching are
answered with a canned reply and never forwarded (a starting influxd's 503);
`rewrite` edits the JSON of the server's real answers (the version /health
reports), the rest of the answer left as the server gave it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from aiohttp import web

from sandbox import processes

_CREATES = re.compile(r"POST /api/v2/(replications|remotes)")


class HoldingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = processes.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.hold = threading.Event()
        self.held = threading.Event()  # set once a create was forwarded and its answer held
        self.holding = 0  # requests held at this moment
        self._release: asyncio.Event | None = None
        self._match, self._before = _CREATES, False
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._tokens: set[str] = set()  # digests of the Authorization headers seen, never the tokens
        self._canned: tuple[re.Pattern[str], int, bytes] | None = None
        self.canned_left = 0  # canned answers still to give
        self._edit: tuple[re.Pattern[str], Callable[[Any], Any]] | None = None

    def answer(self, match: str, status: int, body: Any, *, times: int) -> None:
        """Answer the next `times` requests matching `match` (fullmatch of "METHOD
        /path") with `status` and `body` as JSON, without forwarding them."""
        self._canned, self.canned_left = (re.compile(match), status, json.dumps(body).encode()), times

    def rewrite(self, match: str, edit: Callable[[Any], Any] | None) -> None:
        """Pass the decoded JSON of answers to requests matching `match` through
        `edit` (None: stop)."""
        self._edit = (re.compile(match), edit) if edit is not None else None

    def carried(self, token: str) -> bool:
        """Whether a request has carried `token` (as InfluxDB's `Token` scheme)."""
        return _digest(f"Token {token}") in self._tokens

    def arm(self, match: str, *, before: bool = False) -> None:
        """Hold the next requests matching `match` (fullmatch of "METHOD /path"),
        before forwarding them or after their answer, until `release`."""
        self._match, self._before = re.compile(match), before
        self.held.clear()
        self._release = asyncio.Event()
        self.hold.set()

    async def _wait_if_held(self, request: web.Request) -> bool:
        """True if the request was held (until released)."""
        if self.hold.is_set() and self._match.fullmatch(f"{request.method} {request.path}"):
            assert self._release is not None
            self.held.set()
            self.holding += 1
            try:
                await self._release.wait()
            finally:
                self.holding -= 1
            return True
        return False

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._tokens.add(_digest(request.headers.get("Authorization", "")))
        body = await request.read()
        said = f"{request.method} {request.path}"
        if self._canned is not None and self.canned_left > 0 and self._canned[0].fullmatch(said):
            self.canned_left -= 1
            return web.Response(status=self._canned[1], body=self._canned[2], content_type="application/json")
        if self._before and await self._wait_if_held(request):
            # Held before it was sent: InfluxDB never sees it, as if the sender had died first.
            return web.Response(status=502, text="held and dropped by the test proxy")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with (
            aiohttp.ClientSession() as session,
            session.request(request.method, self.upstream + request.path_qs, data=body, headers=headers) as answer,
        ):
            payload = await answer.read()
            status, content_type = answer.status, answer.headers.get("Content-Type", "application/json")
        edit = self._edit
        if edit is not None and edit[0].fullmatch(said):
            payload = json.dumps(edit[1](json.loads(payload))).encode()
        if not self._before:
            await self._wait_if_held(request)
        return web.Response(status=status, body=payload, headers={"Content-Type": content_type})

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def release(self) -> None:
        self.hold.clear()
        assert self._release is not None
        self._loop.call_soon_threadsafe(self._release.set)
        self._match, self._before = _CREATES, False

    @contextmanager
    def running(self) -> Iterator[HoldingProxy]:
        thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        try:
            yield self
        finally:
            self.release()
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(10)
            self._loop.close()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
