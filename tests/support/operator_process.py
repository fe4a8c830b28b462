"""The operator as a real process: started, killed and restarted by tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class OperatorProcess:
    def __init__(self, kubeconfig: Path, log: Path, *extra: str) -> None:
        self.kubeconfig, self.log, self.extra = kubeconfig, log, extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.python_args: tuple[str, ...] = ()  # e.g. ("-m", "cProfile", "-o", path), before the module
        self.metrics_url: str | None = None  # set where it was started with --metrics-port
        self.verbose = True  # debug logs; a bench measures without, as the chart runs it
        self.env: dict[str, str] = {}  # added to the environment, e.g. POD_ID

    def metric(self, name: str, /, **labels: str) -> float | None:
        """One sample of the operator's /metrics, or None if absent."""
        assert self.metrics_url is not None
        text = urllib.request.urlopen(self.metrics_url, timeout=5).read().decode()
        for line in text.splitlines():
            unlabelled = not labels and line.startswith(name + " ")
            if unlabelled or (line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items())):
                return float(line.rsplit(" ", 1)[1])
        return None

    def start(self) -> None:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PYTHONPATH": str(ROOT / "operator"),
            **self.env,
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    *self.python_args,
                    "-m",
                    "influxdb_operator",
                    # Elected or standalone: an operator of the tests never peers.
                    *([] if "--leader-elect" in self.extra else ["--standalone"]),
                    "--max-backoff=5",
                    *(["--verbose"] if self.verbose else []),
                    *self.extra,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL: no clean-up handlers, exactly like a crashed pod."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def pause(self) -> None:
        """SIGSTOP: frozen, as a paused VM or a stalled node; its clocks run on."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


@contextlib.contextmanager
def running(kubeconfig: Path, log: Path, *extra: str) -> Iterator[OperatorProcess]:
    process = OperatorProcess(kubeconfig, log, *extra)
    process.start()
    try:
        yield process
    finally:
        process.stop()
