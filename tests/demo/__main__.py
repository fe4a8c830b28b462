"""`make demo`: the whole product on a machine with no cluster at all.

Starts the sandbox, installs the CRDs, applies `deploy/examples/` (filling in
the sandbox's URLs and tokens), runs the operator, then writes points at the
edge every few seconds and shows the replication's status and the points
arriving at the cloud, until Ctrl-C. `--check` stops with exit code 0 as soon
as points have arrived through an operator-made replication (used by a test,
so the README's first command is known to work).
"""

from __future__ import annotations

import argparse
import os
import signal
import string
import sys
import time
from pathlib import Path
from types import FrameType

import sandbox as sandbox_module
from support.kubectl import Kubectl, condition
from support.operator_process import OperatorProcess

ROOT = Path(__file__).resolve().parents[2]
MEASUREMENT = "demo_cpu"


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _examples(sb: sandbox_module.Sandbox) -> str:
    values = {
        "EDGE_URL": sb.edge.url,
        "EDGE_TOKEN": sb.edge.token,
        "CLOUD_URL": sb.cloud.url,
        "CLOUD_TOKEN": sb.cloud.token,
        "CLOUD_ORG_ID": sb.cloud.orgID,
    }
    docs = [
        string.Template(p.read_text()).substitute(values) for p in sorted((ROOT / "deploy/examples").glob("*.yaml"))
    ]
    return "\n---\n".join(docs)


def run(*, check: bool, timeout: float) -> int:
    began = time.monotonic()
    with sandbox_module.start() as sb:
        kubectl = Kubectl(sb.kube.kubeconfig)
        print(f"sandbox up in {time.monotonic() - began:.0f}s; KUBECONFIG={sb.kube.kubeconfig}", flush=True)
        kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
        kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        kubectl("create", "namespace", "demo")
        demo = kubectl.in_namespace("demo")
        operator = OperatorProcess(sb.kube.kubeconfig, sb.workdir / "operator.log")
        operator.start()
        print(f"operator running; its log: {operator.log}", flush=True)
        try:
            demo("apply", "-f", "-", input=_examples(sb))
            print("applied deploy/examples/ to namespace demo; waiting for the replication", flush=True)
            # A replication carries what is written after it exists: start then.
            while condition(demo.get("replication", "metrics-to-cloud"), "Ready").get("status") != "True":
                if time.monotonic() - began > timeout:
                    print(
                        f"replication not ready after {timeout:.0f}s; operator log:\n{operator.tail()}", file=sys.stderr
                    )
                    return 1
                time.sleep(1)
            print(demo("get", "influxdb", "-o", "wide").rstrip() + "\n", flush=True)
            written = 0
            while True:
                now = time.time_ns()
                sb.edge.write(
                    "metrics", "\n".join(f"{MEASUREMENT},host=edge-{i} usage={i}.0 {now + i}" for i in range(5))
                )
                written += 5
                arrived = sb.cloud.count("metrics", MEASUREMENT)
                print(demo("get", "influxdb", "-o", "wide").rstrip())
                print(f"points written at the edge: {written}; arrived at the cloud: {arrived}\n", flush=True)
                ready = condition(demo.get("replication", "metrics-to-cloud"), "Ready").get("status") == "True"
                if check and ready and arrived > 0:
                    print("demo check passed: the operator's replication carried points to the cloud")
                    return 0
                if check and time.monotonic() - began > timeout:
                    print(f"demo check failed after {timeout:.0f}s; operator log:\n{operator.tail()}", file=sys.stderr)
                    return 1
                time.sleep(3)
        finally:
            operator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 0 once points arrive at the cloud")
    parser.add_argument("--timeout", type=float, default=180, help="with --check: give up after this many seconds")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    os.environ.setdefault("SANDBOX_DIR", str(ROOT / ".sandbox"))
    try:
        return run(check=args.check, timeout=args.timeout)
    except KeyboardInterrupt:
        print("\nstopped; every process and temporary file is gone", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
