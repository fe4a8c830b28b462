"""Child processes that never outlive the sandbox.

Each server runs in its own session (so a Ctrl-C in the terminal reaches the
sandbox, which then stops them in order) and with SIGKILL as its parent-death
signal, so even a SIGKILLed sandbox leaves nothing running. It is SIGKILL, not
SIGTERM, because servers told to stop all at once wait on each other:
kube-apiserver hangs in its shutdown once etcd has gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A loopback port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent(parent: int, sig: signal.Signals = signal.SIGKILL) -> None:
    """Ask for `sig` when the parent dies; if `parent` (its pid) is already
    gone, exit now: the parent-death signal only covers deaths after the call."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent:
        os._exit(1)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    # Once: a second Ctrl-C must not cut the cleanup short (SIGKILL still can).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def foreground() -> None:
    """For `make sandbox`/`make cluster`: stop the same way on SIGINT and
    SIGTERM, and when the parent (make, a script) dies.

    Handlers are installed explicitly: a job started with `&` from a script
    inherits SIGINT as ignored, and Python then keeps ignoring it. Both unwind
    like Ctrl-C, so every process is stopped, even while still starting.
    """
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    die_with_parent(os.getppid(), signal.SIGTERM)


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    fatal: type[Exception] | tuple[type[Exception], ...] = (),
) -> None:
    """Poll `check` until it holds; fail early and loudly if the process died,
    or `check` raised a `fatal` error (any other means "not yet")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}{_tail(log)}")
        try:
            if check():
                return
        except fatal:
            raise
        except Exception:  # noqa: BLE001, S110 - any failure means "not ready yet"
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s{_tail(log)}")


def _tail(log: Path | None, lines: int = 30) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; last lines of {log}:\n" + "\n".join(text)


@contextlib.contextmanager
def running(
    name: str, argv: list[str], *, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` with output in `log`; on exit stop it (TERM, then KILL)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    parent = os.getpid()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=lambda: die_with_parent(parent),
        )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
