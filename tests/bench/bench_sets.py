"""`make bench`: one ReplicationSet over N buckets against N Replications
applied directly (BENCH_SET_BUCKETS, default 200; the documented figure is
`make bench BENCH_SET_BUCKETS=1000`): the time from apply until every stream
is Ready (one listing polled each second), each way, on the same edge
buckets, each in a namespace and an operator of its own (the direct streams
are deleted before the set's pass). Nothing here asserts a time."""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

import pytest

import sandbox as sandbox_module
from sandbox import influx
from support import manifests
from support.kubectl import Kubectl, condition, eventually
from support.operator_process import OperatorProcess

pytestmark = pytest.mark.timeout(0)  # a bench of thousands runs as long as it takes

N = int(os.environ.get("BENCH_SET_BUCKETS", "200"))
PERIOD = 5.0
PREFIX = "bset-"


def _buckets(server: influx.Influx) -> list[str]:
    names = [f"{PREFIX}{i:05d}" for i in range(N)]
    have: set[str] = set()
    offset = 0
    while True:  # paged: influxd answers at most 100 a call
        _, body = server.request("GET", f"/api/v2/buckets?orgID={server.orgID}&limit=100&offset={offset}")
        page = [b["name"] for b in body.get("buckets") or []]
        have.update(page)
        offset += len(page)
        if len(page) < 100:
            break
    for name in names:
        if name not in have:
            server.create_bucket(name)
    return names


def _setup(kubectl: Kubectl, sandbox: sandbox_module.Sandbox, namespace: str) -> Kubectl:
    kubectl("create", "namespace", namespace)
    ns = kubectl.in_namespace(namespace)
    edge, cloud = sandbox.edge, sandbox.cloud
    ns.apply(
        manifests.secret("edge-token", namespace, edge.token),
        manifests.secret("cloud-token", namespace, cloud.token),
        manifests.instance("edge", namespace, url=edge.url, org=edge.org, secret="edge-token", resync=f"{PERIOD:.0f}s"),
        manifests.remote(
            "cloud", namespace, instance="edge", url=cloud.url, org_id=cloud.orgID, secret="cloud-token", name=namespace
        ),
    )
    ns("wait", "--for=condition=Ready", "remoteconnection/cloud", "--timeout=120s", timeout=130)
    return ns


def _none_left(ns: Kubectl) -> bool:
    return not ns("get", "replications", "-o", "name").strip()


def _all_ready(ns: Kubectl) -> bool:
    """All N Replications of the namespace Ready, from one listing: `kubectl wait`
    over many objects waits for each in turn, and measured itself (100 s of 1,000)."""
    listed = json.loads(ns("get", "replications", "-o", "json", timeout=120))["items"]
    ready: int = sum(condition(r, "Ready").get("status") == "True" for r in listed)
    return ready == N


def test_a_set_against_replications(sandbox: sandbox_module.Sandbox, kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("apply", "--server-side", "-f", str(Path(__file__).resolve().parents[2] / "crds"))
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    names = _buckets(sandbox.edge)
    _buckets(sandbox.cloud)
    figures: dict[str, float] = {}
    for way in ("direct", "set"):
        namespace = f"bench-{way}"
        operator = OperatorProcess(sandbox.kube.kubeconfig, tmp_path / f"{way}.log", f"--namespace={namespace}")
        operator.start()
        try:
            ns = _setup(kubectl, sandbox, namespace)
            started = time.monotonic()
            if way == "direct":
                docs = [
                    manifests.replication(
                        f"d-{name}",
                        namespace,
                        instance="edge",
                        local_bucket=name,
                        connection="cloud",
                        remote_bucket=name,
                    )
                    for name in names
                ]
                for chunk in range(0, N, 100):
                    ns.apply(*docs[chunk : chunk + 100])
                figures["applied"] = time.monotonic() - started
            else:
                ns.apply(
                    {
                        "apiVersion": manifests.API,
                        "kind": "ReplicationSet",
                        "metadata": {"name": "all", "namespace": namespace},
                        "spec": {
                            "instanceRef": {"name": "edge"},
                            "remote": {"connectionRef": {"name": "cloud"}},
                            "buckets": {"pattern": f"^{PREFIX}"},
                        },
                    }
                )
            eventually(functools.partial(_all_ready, ns), timeout=3600, interval=1, what=f"{way}: all Ready")
            figures[way] = time.monotonic() - started
            if way == "set":
                ns("wait", "--for=condition=Ready", "replicationset/all", "--timeout=600s", timeout=700)
                figures["set Ready"] = time.monotonic() - started
            if way == "direct":
                # The set's pass starts from an edge without these streams (the finalizers delete them);
                # one listing polled, not kubectl's wait, which waits for each object in turn.
                ns("delete", "replications", "--all", "--wait=false", timeout=300)
                gone = functools.partial(_none_left, ns)
                eventually(gone, timeout=3600, interval=1, what="the direct streams deleted")
        finally:
            operator.stop()
    print(f"\nbench: {N} edge buckets replicated, resyncPeriod {PERIOD:.0f}s")
    print(f"  {N} Replications applied directly, all Ready after: {figures['direct']:8.1f} s")
    print(f"    of which kubectl apply, in chunks of 100:        {figures['applied']:8.1f} s")
    print(f"  one ReplicationSet over them, all children Ready after: {figures['set']:8.1f} s")
    print(f"    and the set's own Ready condition after:          {figures['set Ready']:8.1f} s")
