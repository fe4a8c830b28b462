"""Entrypoint and HTTP client of the suite's InfluxDB image (standard library only).

There is no `influx` CLI built from the pinned sources, so this onboards the
server over `POST /api/v2/setup`, and the tests reach InfluxDB, and any
in-cluster URL, through `kubectl exec` of this script instead of a curl image,
which no registry can provide here.

    serve                        run influxd, onboard it from INFLUXDB_ORG/_BUCKET/_TOKEN once
    api METHOD PATH [BODY|-]     call the local InfluxDB with the token; print the body
    get URL                      GET any URL (e.g. a Service in the cluster); print the body
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

LOCAL = "http://127.0.0.1:8086"
DATA = Path(os.environ.get("INFLUXDB_DATA", "/var/lib/influxdb2"))
# Present once onboarding is done: the readiness probe checks it, so a Ready
# pod has its org, bucket and token.
ONBOARDED = DATA / "onboarded"


def _call(method: str, url: str, body: bytes | None = None, *, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    if token:
        request.add_header("Authorization", f"Token {token}")
    if body is not None and body[:1] in (b"{", b"["):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _started(method: str, url: str, body: bytes | None = None, *, timeout: float = 60) -> tuple[int, bytes]:
    """The call's answer once influxd is no longer starting: 2.10 answers
    onboarding 503 {"status": "starting"} for a while after /health passes."""
    deadline = time.monotonic() + timeout
    while True:
        status, answer = _call(method, url, body)
        if status != 503 or b'"starting"' not in answer or time.monotonic() > deadline:
            return status, answer
        time.sleep(0.2)


def serve() -> int:
    """Run influxd in the foreground, onboard it on first start, pass SIGTERM on."""
    influxd = subprocess.Popen(
        [
            "influxd",
            "--reporting-disabled",
            "--http-bind-address=:8086",
            f"--bolt-path={DATA / 'influxd.bolt'}",
            f"--engine-path={DATA / 'engine'}",
            f"--sqlite-path={DATA / 'influxd.sqlite'}",
            "--log-level=warn",
        ]
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        influxd.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            if _call("GET", f"{LOCAL}/health")[0] == 200:
                break
        except OSError:
            pass
        if influxd.poll() is not None:
            return influxd.returncode
        time.sleep(0.2)
    status, body = _started("GET", f"{LOCAL}/api/v2/setup")
    if status != 200:
        print(f"onboarding failed: {status} {body.decode(errors='replace')}", file=sys.stderr)
        influxd.terminate()
        return 1
    if json.loads(body).get("allowed"):
        setup = {
            "username": os.environ.get("INFLUXDB_USERNAME", "admin"),
            "password": os.environ["INFLUXDB_PASSWORD"],
            "org": os.environ["INFLUXDB_ORG"],
            "bucket": os.environ["INFLUXDB_BUCKET"],
            "token": os.environ["INFLUXDB_TOKEN"],
        }
        status, body = _started("POST", f"{LOCAL}/api/v2/setup", json.dumps(setup).encode())
        if status != 201:
            print(f"onboarding failed: {status} {body.decode(errors='replace')}", file=sys.stderr)
            influxd.terminate()
            return 1
    ONBOARDED.touch()
    print("influxd onboarded and serving on :8086", flush=True)
    return influxd.wait()


def _print(status: int, body: bytes) -> int:
    sys.stdout.write(body.decode(errors="replace"))
    if status >= 400:
        print(f"HTTP {status}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    match argv:
        case ["serve"]:
            return serve()
        case ["api", method, path, *rest]:
            body = None if not rest else (sys.stdin.buffer.read() if rest[0] == "-" else rest[0].encode())
            return _print(*_call(method, LOCAL + path, body, token=os.environ["INFLUXDB_TOKEN"]))
        case ["get", url]:
            return _print(*_call("GET", url))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
