"""`make bench`: figures for many replications on one instance.

Prints, for N Replications (BENCH_REPLICATIONS, default 200) behind one
InfluxDBInstance and one RemoteConnection: time until all are Ready, InfluxDB
API calls per refresh period once settled, Kubernetes writes per period when
idle, and the operator's memory. Nothing here asserts a time; the design
claims (calls per period independent of N, no idle writes) are printed next
to the numbers so a regression shows.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from pathlib import Path

import sandbox as sandbox_module
from sandbox import processes
from support import manifests
from support.kubectl import Kubectl
from support.operator_process import OperatorProcess

N = int(os.environ.get("BENCH_REPLICATIONS", "200"))
PERIOD = 5.0


def _calls(port: int) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(
        float(m.group(1)) for m in re.finditer(r"^influxdb_operator_influxdb_api_calls_total\{.*\} (\S+)$", body, re.M)
    )


def _versions(ns: Kubectl) -> dict[str, str]:
    items = json.loads(ns("get", "replications", "-o", "json", timeout=120))["items"]
    return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def test_scale(sandbox: sandbox_module.Sandbox, kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("apply", "--server-side", "-f", str(Path(__file__).resolve().parents[2] / "crds"))
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    namespace = "bench"
    kubectl("create", "namespace", namespace)
    ns = kubectl.in_namespace(namespace)
    edge, cloud = sandbox.edge, sandbox.cloud
    port = processes.free_port()
    operator = OperatorProcess(sandbox.kube.kubeconfig, tmp_path / "operator.log", f"--metrics-port={port}")
    operator.extra = (*operator.extra, f"--namespace={namespace}")
    operator.start()
    try:
        ns.apply(
            manifests.secret("edge-token", namespace, edge.token),
            manifests.secret("cloud-token", namespace, cloud.token),
            manifests.instance(
                "edge", namespace, url=edge.url, org=edge.org, secret="edge-token", resync=f"{PERIOD:.0f}s"
            ),
            manifests.remote(
                "cloud", namespace, instance="edge", url=cloud.url, org_id=cloud.orgID, secret="cloud-token"
            ),
        )
        docs = [
            manifests.replication(
                f"r{i:05d}",
                namespace,
                instance="edge",
                local_bucket="metrics",
                connection="cloud",
                remote_bucket="metrics",
            )
            for i in range(N)
        ]
        started = time.monotonic()
        for chunk in range(0, N, 100):
            ns.apply(*docs[chunk : chunk + 100])
        applied = time.monotonic() - started
        ns("wait", "--for=condition=Ready", "replications", "--all", "--timeout=1800s", timeout=1900)
        ready = time.monotonic() - started

        time.sleep(3 * PERIOD)  # settle
        calls_before, versions_before = _calls(port), _versions(ns)
        window = 4
        time.sleep(window * PERIOD)
        calls_per_period = (_calls(port) - calls_before) / window
        versions_after = _versions(ns)
        writes = sum(1 for k, v in versions_after.items() if versions_before.get(k) != v)

        assert operator.proc is not None
        print(f"\nbench: {N} replications on one instance (resyncPeriod {PERIOD:.0f}s)")
        print(f"  kubectl apply of all manifests:      {applied:8.1f} s")
        print(f"  all Ready after:                      {ready:8.1f} s  ({N / ready:.1f} replications/s)")
        print(f"  InfluxDB API calls per period, idle:  {calls_per_period:8.1f}    (design: 4, independent of N)")
        print(f"  Kubernetes writes per period, idle:   {writes / window:8.1f}    (design: 0)")
        print(f"  operator RSS:                         {_rss_mib(operator.proc.pid):8.1f} MiB")
    finally:
        operator.stop()
