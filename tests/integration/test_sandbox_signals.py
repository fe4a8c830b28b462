"""`make sandbox` (and `make demo`) as a script runs it: a background job, which starts with
SIGINT ignored. It stops on SIGINT and SIGTERM alike, and nothing it started
outlives it, even when it is SIGKILLed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Job:
    script: subprocess.Popen[bytes]
    make: int
    sandbox: int  # the Python process
    directory: Path


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(proc.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _mentioning(text: str) -> list[int]:
    """Processes with `text` in their command line: the sandbox's servers name its directory."""
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and text.encode() in _cmdline(int(p.name))]


def _ignores_sigint(pid: int) -> bool:
    ignored = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("SigIgn:"))
    return bool(int(ignored.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _cmdline(pid):
            return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def _as_a_job(target: str, directory: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`make TARGET &` in a non-interactive shell (so SIGINT arrives ignored);
    afterwards nothing it started is left, whatever happened."""
    script = subprocess.Popen(
        ["bash", "-c", f"make --no-print-directory {target} & wait"],
        cwd=ROOT,
        env={**os.environ, "SANDBOX_DIR": str(directory)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield script
    finally:
        for pid in _mentioning(str(directory)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(script.pid, signal.SIGKILL)
        script.communicate(timeout=30)


@pytest.fixture
def job(tmp_path: Path) -> Iterator[Job]:
    """`make sandbox &` in a non-interactive shell, up and described."""
    directory = tmp_path / "sandbox-dir"
    with _as_a_job("sandbox", directory) as script:
        deadline = time.monotonic() + 180
        while not (directory / "sandbox.json").exists():
            assert script.poll() is None, "the sandbox exited before it came up"
            assert time.monotonic() < deadline, "the sandbox never came up"
            time.sleep(0.5)
        (make,) = (pid for pid in _children(script.pid) if b"make" in _cmdline(pid))
        (sandbox,) = (pid for pid in _children(make) if b"-m\0sandbox" in _cmdline(pid))
        yield Job(script, make, sandbox, directory)


def test_sigint_stops_it_although_the_job_started_with_sigint_ignored(job: Job) -> None:
    assert _ignores_sigint(job.make), "not the situation under test: make should ignore SIGINT"
    os.kill(job.sandbox, signal.SIGINT)
    output, _ = job.script.communicate(timeout=60)
    assert b"sandbox stopped" in output
    assert _mentioning(str(job.directory)) == []
    assert not job.directory.exists() or not any(job.directory.iterdir())


def test_sigterm_to_make_stops_it(job: Job) -> None:
    os.kill(job.make, signal.SIGTERM)  # make passes SIGTERM on to its child
    assert _wait_gone(job.sandbox, 60), "the sandbox is still running"
    assert _mentioning(str(job.directory)) == []
    assert not (job.directory / "sandbox.json").exists()


def test_no_server_outlives_a_sigkilled_sandbox(job: Job) -> None:
    servers = [pid for pid in _mentioning(str(job.directory)) if pid != job.sandbox]
    assert len(servers) >= 3, "etcd, kube-apiserver and two influxd should be running"
    os.kill(job.sandbox, signal.SIGKILL)
    for pid in servers:
        assert _wait_gone(pid, 10), f"{_cmdline(pid)!r} outlived the sandbox"


def test_make_demo_as_a_job_stops_on_sigint_with_its_operator(tmp_path: Path) -> None:
    """`make demo &` from a script: SIGINT arrives ignored, and still stops the
    demo, its operator and its sandbox."""
    directory = tmp_path / "demo-dir"
    with _as_a_job("demo", directory) as script:
        deadline = time.monotonic() + 180
        operators: list[int] = []
        while not operators:
            assert script.poll() is None, "the demo exited before its operator started"
            assert time.monotonic() < deadline, "the demo's operator never started"
            time.sleep(0.5)
            makes = [pid for pid in _children(script.pid) if b"make" in _cmdline(pid)]
            demos = [pid for make in makes for pid in _children(make) if b"-m\0demo" in _cmdline(pid)]
            operators = [pid for demo in demos for pid in _children(demo) if b"influxdb_operator" in _cmdline(pid)]
        (make,) = makes
        (demo,) = demos
        assert _ignores_sigint(make), "not the situation under test: make should ignore SIGINT"
        servers = _mentioning(str(directory))
        assert len(servers) >= 3, "etcd, kube-apiserver and two influxd should be running"
        os.kill(demo, signal.SIGINT)
        output, _ = script.communicate(timeout=60)
        assert b"stopped; every process and temporary file is gone" in output
        for pid in [*operators, *servers]:
            assert _wait_gone(pid, 10), f"{_cmdline(pid)!r} outlived the demo"
