"""`make demo`: the whole product on a machine with no cluster at all.

Starts the sandbox, installs the CRDs, applies `deploy/examples/` (filling in
the sandbox's URLs and tokens), runs the operator, then writes points at the
edge every few seconds and shows the replication's status and the points
arriving at the cloud, until Ctrl-C. `--check` stops with exit code 0 as soon
as points have arrived through an operator-made replication (used by a test,
so the README's first command is known to work). `--stall` freezes the cloud
influxd once points flow, shows the Replication turn Stalled while its last
response code still reads 204, thaws it and shows it Healthy again with every
point arrived (with `--check`: exit 0 then).
"""

from __future__ import annotations

import argparse
import json
import os
import string
import sys
import time
from pathlib import Path
from typing import Any

import sandbox as sandbox_module
from sandbox import processes
from support.kubectl import Kubectl, condition
from support.operator_process import OperatorProcess

ROOT = Path(__file__).resolve().parents[2]
MEASUREMENT = "demo_cpu"
REPLICATION = "metrics-to-cloud"


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


class Stall:
    """`--stall`: once points flow, freeze the cloud influxd (SIGSTOP) while the
    edge keeps being written, wait for Stalled (with latestResponseCode still
    204), thaw it and wait until the stream is Healthy with every point arrived."""

    def __init__(self, sb: sandbox_module.Sandbox, demo: Kubectl, stalled_after: str) -> None:
        self.sb, self.demo, self.stalled_after = sb, demo, stalled_after
        self.phase = "flowing"  # -> frozen -> thawed -> done
        self.frozen_at = self.thawed_at = 0.0

    def step(self, replication: dict[str, Any] | None, written: int, arrived: int | None) -> None:
        healthy, status = condition(replication, "Healthy"), (replication or {}).get("status") or {}
        if self.phase == "flowing" and healthy.get("reason") == "Replicating" and arrived:
            # The example waits 90s (nine of its 10s periods); a demo need not.
            window = json.dumps({"spec": {"health": {"stalledAfter": self.stalled_after}}})
            self.demo("patch", "replication", REPLICATION, "--type=merge", "-p", window)
            self.sb.cloud_server.freeze()
            self.phase, self.frozen_at = "frozen", time.monotonic()
            print(
                f">>> froze the cloud influxd (SIGSTOP; spec.health.stalledAfter set to {self.stalled_after}):"
                " it accepts connections and answers nothing; the edge keeps being written\n",
                flush=True,
            )
        elif self.phase == "frozen" and healthy.get("reason") == "Stalled":
            print(
                f">>> after {time.monotonic() - self.frozen_at:.0f}s: Healthy={healthy.get('status')} "
                f"reason Stalled, while latestResponseCode still reads {status.get('latestResponseCode')}:\n"
                f"    {healthy.get('message')}",
                flush=True,
            )
            self.sb.cloud_server.thaw()
            self.phase, self.thawed_at = "thawed", time.monotonic()
            print(">>> thawed the cloud influxd (SIGCONT)\n", flush=True)
        elif self.phase == "thawed" and healthy.get("status") == "True" and arrived == written:
            print(
                f">>> {time.monotonic() - self.thawed_at:.0f}s after the thaw: Healthy again "
                f"({healthy.get('reason')}), and all {written} points written have arrived",
                flush=True,
            )
            print(self.demo("get", "events", "--field-selector", f"involvedObject.name={REPLICATION}").rstrip() + "\n")
            self.phase = "done"


def run(*, check: bool, timeout: float, stall: bool = False, stalled_after: str = "30s") -> int:
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
            while condition(demo.get("replication", REPLICATION), "Ready").get("status") != "True":
                if time.monotonic() - began > timeout:
                    print(
                        f"replication not ready after {timeout:.0f}s; operator log:\n{operator.tail()}", file=sys.stderr
                    )
                    return 1
                time.sleep(1)
            print(demo("get", "influxdb", "-o", "wide").rstrip() + "\n", flush=True)
            stalling = Stall(sb, demo, stalled_after) if stall else None
            written = 0
            while True:
                now = time.time_ns()
                sb.edge.write(
                    "metrics", "\n".join(f"{MEASUREMENT},host=edge-{i} usage={i}.0 {now + i}" for i in range(5))
                )
                written += 5
                time.sleep(3)  # what was written has had time to arrive
                frozen = stalling is not None and stalling.phase == "frozen"
                arrived = None if frozen else sb.cloud.count("metrics", MEASUREMENT)  # a frozen cloud answers nothing
                print(demo("get", "influxdb", "-o", "wide").rstrip())
                print(
                    f"points written at the edge: {written}; arrived at the cloud: "
                    f"{'(the cloud is frozen)' if arrived is None else arrived}\n",
                    flush=True,
                )
                replication = demo.get("replication", REPLICATION)
                if stalling is not None:
                    stalling.step(replication, written, arrived)
                ready = condition(replication, "Ready").get("status") == "True"
                if check and ready and arrived and (stalling is None or stalling.phase == "done"):
                    shown = " and recovered from a stall" if stalling is not None else ""
                    print(f"demo check passed: the operator's replication carried points to the cloud{shown}")
                    return 0
                if check and time.monotonic() - began > timeout:
                    print(f"demo check failed after {timeout:.0f}s; operator log:\n{operator.tail()}", file=sys.stderr)
                    return 1
        finally:
            operator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 0 once points arrive at the cloud")
    parser.add_argument("--timeout", type=float, default=180, help="with --check: give up after this many seconds")
    parser.add_argument(
        "--stall",
        action="store_true",
        help="once points flow, freeze the cloud influxd until the Replication reports Stalled, then thaw it",
    )
    parser.add_argument(
        "--stalled-after", default="30s", help="with --stall: the Replication's spec.health.stalledAfter (default 30s)"
    )
    args = parser.parse_args()
    # SIGINT too, also when a script started it with SIGINT ignored, and its parent's death.
    processes.foreground()
    os.environ.setdefault("SANDBOX_DIR", str(ROOT / ".sandbox"))
    try:
        return run(check=args.check, timeout=args.timeout, stall=args.stall, stalled_after=args.stalled_after)
    except KeyboardInterrupt:
        print("\nstopped; every process and temporary file is gone", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
