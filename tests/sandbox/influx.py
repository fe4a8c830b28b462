"""A real influxd in a temporary directory, onboarded and ready to use.

The helpers here speak raw HTTP on purpose: the sandbox and the tests that
prove it must not depend on the operator's own client.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import binaries, pki, processes


@dataclass(frozen=True)
class Influx:
    """One onboarded server; the fields are exactly sandbox.json's per-server keys."""

    url: str
    org: str
    orgID: str  # noqa: N815 - a sandbox.json key
    token: str = field(repr=False)  # never in test output
    bucket: str
    bucketID: str  # noqa: N815 - a sandbox.json key
    ca: Path | None = field(default=None, repr=False)

    def replications(self, *, name: str | None = None) -> list[dict[str, Any]]:
        """The org's replications (of that name), straight from the API."""
        query = urllib.parse.urlencode({"orgID": self.orgID} | ({"name": name} if name is not None else {}))
        status, body = self.request("GET", f"/api/v2/replications?{query}")
        if status != 200:
            raise RuntimeError(f"listing replications failed: {status} {body}")
        return list(body.get("replications") or [])

    def as_json(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if k != "ca"}

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None, raw: bytes | None = None
    ) -> tuple[int, Any]:
        """One API call; returns (status, decoded JSON body or text)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Authorization": f"Token {token or self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        context = ssl.create_default_context(cafile=str(self.ca)) if self.ca else None
        try:
            with urllib.request.urlopen(req, timeout=30, context=context) as resp:
                status, payload = int(resp.status), resp.read()
        except urllib.error.HTTPError as error:
            status, payload = int(error.code), error.read()
        try:
            return status, json.loads(payload) if payload else None
        except json.JSONDecodeError:
            return status, payload.decode(errors="replace")

    def write(self, bucket: str, lines: str) -> None:
        """Write line protocol to `bucket`, with nanosecond timestamps."""
        query = urllib.parse.urlencode({"org": self.org, "bucket": bucket, "precision": "ns"})
        status, body = self.request("POST", f"/api/v2/write?{query}", raw=lines.encode())
        if status != 204:
            raise RuntimeError(f"write to {bucket} failed: {status} {body}")

    def query_csv(self, flux: str) -> str:
        """Run a Flux query; returns the annotated CSV."""
        req = urllib.request.Request(
            f"{self.url}/api/v2/query?{urllib.parse.urlencode({'org': self.org})}",
            data=json.dumps({"query": flux, "type": "flux"}).encode(),
            method="POST",
            headers={
                "Authorization": f"Token {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/csv",
            },
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return str(resp.read().decode())

    def count(self, bucket: str, measurement: str) -> int:
        """How many points of `measurement` the bucket holds (all time)."""
        csv = self.query_csv(
            f'from(bucket: "{bucket}") |> range(start: 0) '
            f'|> filter(fn: (r) => r._measurement == "{measurement}") |> group() |> count()'
        )
        values = [line.split(",")[-1] for line in csv.splitlines() if line.startswith(",_result,")]
        return sum(int(v) for v in values if v.strip().isdigit())

    def create_bucket(self, name: str) -> str:
        status, body = self.request(
            "POST", "/api/v2/buckets", {"orgID": self.orgID, "name": name, "retentionRules": []}
        )
        if status != 201:
            raise RuntimeError(f"create bucket {name}: {status} {body}")
        return str(body["id"])


class Server:
    """One influxd process that can be stopped and started again on the same
    port with the same data, to test what happens while it is down."""

    def __init__(self, workdir: Path, name: str, *, tls: bool = False) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir, self.name = workdir, name
        self.port = processes.free_port()
        # With TLS, `ca` is the PEM file that verifies the server's certificate.
        self.ca: Path | None = None
        self._tls_args: list[str] = []
        if tls:
            self.ca, cert, key, _, _ = pki.write(workdir)
            self._tls_args = [f"--tls-cert={cert}", f"--tls-key={key}"]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._stack = contextlib.ExitStack()

    def start(self) -> None:
        argv = [
            binaries.path("influxd"),
            "--reporting-disabled",
            f"--http-bind-address=127.0.0.1:{self.port}",
            f"--bolt-path={self.workdir / 'influxd.bolt'}",
            f"--engine-path={self.workdir / 'engine'}",
            f"--sqlite-path={self.workdir / 'influxd.sqlite'}",
            "--log-level=warn",
            *self._tls_args,
        ]
        # influxd reads INFLUXD_* and a config file; keep the user's out.
        self._proc = self._stack.enter_context(
            processes.running(self.name, argv, log=self.log, env={"INFLUXD_CONFIG_PATH": str(self.workdir)})
        )
        processes.wait_until(
            lambda: (
                json.load(urllib.request.urlopen(f"{self.url}/health", timeout=2, context=self._context())).get(
                    "status"
                )
                == "pass"
            ),
            what=f"influxd {self.name}",
            timeout=120,
            proc=self._proc,
            log=self.log,
        )

    def _context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else None

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, nothing answers."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.thaw()  # a frozen process would not hear SIGTERM
        self._stack.close()
        self._proc = None

    def onboard(self, *, org: str, bucket: str) -> Influx:
        return onboard(self.url, self.name, org=org, bucket=bucket, ca=self.ca)


# How long a starting influxd may answer 503 "starting" to onboarding: 2.10
# did so once after its /health had passed (issue 25).
ONBOARD_TIMEOUT = 60.0


def onboard(
    url: str, name: str, *, org: str, bucket: str, ca: Path | None = None, timeout: float = ONBOARD_TIMEOUT
) -> Influx:
    """Onboard the influxd at `url` with an all-access token, waiting out a
    server that is still starting (503 `{"status": "starting"}`) until `timeout`."""
    token = secrets.token_urlsafe(32)
    unauthenticated = Influx(url, org, "", "", bucket, "", ca=ca)
    setup = {"username": "admin", "password": secrets.token_urlsafe(16), "org": org, "bucket": bucket, "token": token}
    answer: tuple[int, Any] = (0, None)

    def onboarded() -> bool:
        nonlocal answer
        answer = unauthenticated.request("POST", "/api/v2/setup", setup)
        if answer[0] == 503 and isinstance(answer[1], dict) and answer[1].get("status") == "starting":
            return False
        if answer[0] != 201:
            raise OnboardingFailed(f"onboarding influxd {name} failed: {answer[0]} {answer[1]}")
        return True

    try:
        processes.wait_until(onboarded, what=f"influxd {name} onboarding", timeout=timeout, fatal=OnboardingFailed)
    except TimeoutError as error:
        raise TimeoutError(f"{error}; its last answer: {answer[0]} {answer[1]}") from None
    body = answer[1]
    instance = Influx(url, org, str(body["org"]["id"]), token, bucket, str(body["bucket"]["id"]), ca=ca)
    # Ready means authenticated API calls work, not just /health.
    processes.wait_until(
        lambda: instance.request("GET", f"/api/v2/buckets?orgID={instance.orgID}")[0] == 200,
        what=f"influxd {name} API",
        timeout=30,
    )
    return instance


class OnboardingFailed(RuntimeError):
    """influxd refused onboarding for good (anything but 503 starting)."""


@contextlib.contextmanager
def server(workdir: Path, name: str, *, org: str, bucket: str) -> Iterator[tuple[Server, Influx]]:
    """influxd on a free loopback port, onboarded with an all-access token: its process, and what it serves."""
    process = Server(workdir, name)
    process.start()
    try:
        yield process, process.onboard(org=org, bucket=bucket)
    finally:
        process.stop()
