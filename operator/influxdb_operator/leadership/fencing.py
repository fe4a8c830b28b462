"""The fence: no request leaves this process once its leadership may have lapsed.

A leader can be frozen (SIGSTOP, a paused VM, a stalled node) past its Lease
while a standby takes over. When it wakes, its event loop resumes wherever it
was, possibly right before a PATCH to InfluxDB or Kubernetes, and the renewal
thread that would notice the lapse may well run after it. So the check is not
left to that thread: every HTTP client of the process checks, synchronously,
right before a request goes out, whether the last good renewal is still within
the renew deadline, and ends the process at once if not (os._exit: no clean-up
that could itself send something). The clock is CLOCK_BOOTTIME, which keeps
running while the process is stopped and while the machine is suspended.

The clients: aiohttp (kopf's session to the API server, the InfluxDB client)
at ClientRequest.send, after a connection was obtained and before the first
byte is written with no await in between; urllib3 (the official Kubernetes
client: status writes, Secrets, Events, the Lease itself) at each attempt. What
no client-side fence can close is a stop in the microseconds between the
check and the write system call; the gap between the renew deadline and the
lease duration (5 s by default) covers a request already on the wire.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

import aiohttp.client_reqrep
import urllib3.connectionpool

EXIT_CODE = 3  # what a fenced leader exits with (a lost renewal exits with it too)


def clock() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


class Fence:
    """Open while unarmed (a standby's reads, its attempts on the Lease) or
    before `valid_until`; armed when this process leads."""

    def __init__(self, exit: Callable[[str], None] | None = None) -> None:
        self._valid_until: float | None = None
        self._lock = threading.Lock()
        self._exit = exit or _exit

    def lead_until(self, valid_until: float) -> None:
        with self._lock:
            if self._valid_until is None or valid_until > self._valid_until:
                self._valid_until = valid_until

    def disarm(self) -> None:
        """After a clean release: kopf has stopped, what is left may go out."""
        with self._lock:
            self._valid_until = None

    def check(self) -> None:
        valid_until = self._valid_until
        if valid_until is not None and clock() > valid_until:
            late = clock() - valid_until
            self._exit(f"leadership lapsed {late:.1f}s ago (renew deadline passed): exiting before any request")


def lost(why: str) -> NoReturn:
    """Ends the process now, saying why."""
    _exit(why)


def _exit(why: str) -> NoReturn:
    # Not logging: its handlers take locks another (frozen) thread may hold.
    os.write(2, f"influxdb-replication-operator: {why}\n".encode())
    os._exit(EXIT_CODE)


_installed: Fence | None = None


def install(fence: Fence) -> None:
    """Puts `fence` in front of every aiohttp and urllib3 request of the process."""
    global _installed
    if _installed is not None:
        raise RuntimeError("a fence is already installed")
    _installed = fence
    request_class: Any = aiohttp.client_reqrep.ClientRequest
    pool_class: Any = urllib3.connectionpool.HTTPConnectionPool
    request_class.send = _gated_async(fence, request_class.send)
    pool_class._make_request = _gated(fence, pool_class._make_request)


def _gated_async(fence: Fence, send: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send)
    async def gated(*args: Any, **kwargs: Any) -> Any:
        fence.check()
        return await send(*args, **kwargs)

    return gated


def _gated(fence: Fence, make_request: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(make_request)
    def gated(*args: Any, **kwargs: Any) -> Any:
        fence.check()
        return make_request(*args, **kwargs)

    return gated
