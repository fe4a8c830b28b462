"""`make bench`: figures for many replications on one instance.

Prints, for N Replications (BENCH_REPLICATIONS, default 200; the issue's
figure is `make bench BENCH_REPLICATIONS=1000`) behind one InfluxDBInstance
and one RemoteConnection, all reading the edge's `metrics` bucket: time until
all are Ready, the operator's memory, and for two windows of whole refresh
periods — idle, then under steady traffic (a small batch of points written to
that bucket every second, paced by the clock) — InfluxDB API calls per period,
Kubernetes write requests per period (from kube-apiserver's own counters, so
no-op patches count), the changes they made (every Replication change, seen
on a watch) and which status fields those changed. Nothing here asserts a
time; the design claims (calls per period independent of N, no idle writes)
are printed next to the numbers so a regression shows.
"""

from __future__ import annotations

import collections
import os
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import sandbox as sandbox_module
from sandbox import kube as kube_module
from sandbox import processes
from support import manifests, measure
from support.kubectl import Kubectl
from support.operator_process import OperatorProcess
from support.pacing import paced

pytestmark = pytest.mark.timeout(0)  # a bench of thousands runs as long as it takes

N = int(os.environ.get("BENCH_REPLICATIONS", "200"))
PERIOD = 5.0
WINDOW = 4  # periods measured, idle and under traffic
WARMUP = 4  # periods of traffic before measuring: the default stall window (3 periods) is covered
BATCH = 10  # points per write under traffic
EVERY = float(os.environ.get("BENCH_TRAFFIC_EVERY", "1"))  # seconds between writes under traffic
NAMESPACE = "bench"
REPLICATIONS = f"/apis/influxdb.replication.dev/v1alpha1/namespaces/{NAMESPACE}/replications"
QUEUE_FIELDS = frozenset({"currentQueueSizeBytes", "remainingBytesToBeSynced"})


def _watches_data_plane(port: int) -> bool:
    """Whether the operator running is one that watches the data plane (issue 9)."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return "influxdb_replication_stalled" in body


class Changes:
    """Every change to the bench's Replications, from one watch: how many, and
    which status fields (or other parts) each one changed."""

    def __init__(self, kube: kube_module.Kube) -> None:
        self.kube = kube
        status, listing = kube.get(REPLICATIONS)
        assert status == 200, listing
        self.last: dict[str, dict[str, Any]] = {i["metadata"]["name"]: i for i in listing["items"]}
        self.version = str(listing["metadata"]["resourceVersion"])
        self.lock = threading.Lock()
        self.writes = 0
        self.fields: collections.Counter[str] = collections.Counter()
        self.kinds: collections.Counter[str] = collections.Counter()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        for event in self.kube.watch(REPLICATIONS, self.version, seconds=3600):
            obj = event["object"]
            if event["type"] != "MODIFIED":
                continue
            name = obj["metadata"]["name"]
            with self.lock:
                changed = _changed(self.last.get(name, {}), obj)
                self.last[name] = obj
                self.writes += 1
                self.fields.update(changed)
                self.kinds[_kind(changed)] += 1

    def reset(self) -> None:
        with self.lock:
            self.writes = 0
            self.fields.clear()
            self.kinds.clear()

    def snapshot(self) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
        with self.lock:
            return self.writes, collections.Counter(self.fields), collections.Counter(self.kinds)

    def backlog(self) -> tuple[int, int]:
        """How many Replications have bytes still to sync, and how many bytes in all (as their status says)."""
        with self.lock:
            remaining = [int(o.get("status", {}).get("remainingBytesToBeSynced") or 0) for o in self.last.values()]
        return sum(1 for r in remaining if r), sum(remaining)

    def reasons(self) -> collections.Counter[str]:
        """The Healthy reasons of all Replications now (from the watch's copies)."""
        with self.lock:
            objects = list(self.last.values())
        return collections.Counter(
            next((c["reason"] for c in o.get("status", {}).get("conditions", []) if c["type"] == "Healthy"), "-")
            for o in objects
        )


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """What differs: status fields by name (dataPlane's by its own fields, conditions by type), other parts."""
    parts = {k for k in ("spec",) if before.get(k) != after.get(k)}
    meta_before, meta_after = before.get("metadata", {}), after.get("metadata", {})
    parts |= {
        f"metadata.{k}" for k in ("annotations", "labels", "finalizers") if meta_before.get(k) != meta_after.get(k)
    }
    old, new = before.get("status", {}), after.get("status", {})
    for key in old.keys() | new.keys():
        if key == "dataPlane":
            parts |= _differing(old.get(key) or {}, new.get(key) or {}, "dataPlane.")
        elif key == "conditions":
            parts |= _differing(
                {c["type"]: c for c in old.get(key) or []}, {c["type"]: c for c in new.get(key) or []}, "conditions."
            )
        elif old.get(key) != new.get(key):
            parts.add(key)
    return parts


def _differing(old: dict[str, Any], new: dict[str, Any], prefix: str) -> set[str]:
    return {prefix + k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def _kind(changed: set[str]) -> str:
    if not changed:
        return "nothing visible"
    if changed <= QUEUE_FIELDS:
        return "only currentQueueSizeBytes/remainingBytesToBeSynced"
    if any(c.startswith(("dataPlane.", "conditions.")) for c in changed):
        return "dataPlane and/or conditions (maybe with others)"
    return "other fields"


CALLS = "influxdb_operator_influxdb_api_calls_total"


def _measure(kube: kube_module.Kube, changes: Changes, port: int, pid: int) -> dict[str, Any]:
    """One window of WINDOW periods: figures per period."""
    calls, requests, cpu = (
        measure.total(measure.scrape(port), CALLS),
        measure.kube_writes(kube),
        measure.cpu_seconds(pid),
    )
    changes.reset()
    time.sleep(WINDOW * PERIOD)
    writes, fields, kinds = changes.snapshot()
    requests = measure.kube_writes(kube) - requests
    return {
        "calls": (measure.total(measure.scrape(port), CALLS) - calls) / WINDOW,
        "requests": {k: v / WINDOW for k, v in sorted(requests.items())},
        "writes": writes / WINDOW,
        "fields": {k: v / WINDOW for k, v in fields.most_common()},
        "kinds": {k: v / WINDOW for k, v in kinds.most_common()},
        "cpu": (measure.cpu_seconds(pid) - cpu) / WINDOW,
    }


def _report(label: str, figures: dict[str, Any], *, design_calls: int) -> None:
    requests = ", ".join(f"{k} {v:.1f}" for k, v in figures["requests"].items()) or "none"
    print(f"  {label}:")
    calls = figures["calls"]
    print(f"    InfluxDB API calls per period:        {calls:8.1f}    (design: {design_calls}, independent of N)")
    if calls:  # each refresh makes design_calls calls: fewer per period means a refresh takes longer
        cycle = PERIOD * design_calls / calls
        print(f"    one refresh every:                    {cycle:8.1f} s  (the period: {PERIOD:g} s)")
    print(f"    Kubernetes write requests per period: {sum(figures['requests'].values()):8.1f}    ({requests})")
    print(f"    Replication changes per period:       {figures['writes']:8.1f}")
    for kind, count in figures["kinds"].items():
        print(f"      {count:8.1f}  {kind}")
    print(
        "    status fields changed, per period:   "
        + (", ".join(f"{k} {v:.1f}" for k, v in figures["fields"].items()) or "none")
    )
    print(f"    operator CPU per period:              {figures['cpu']:8.2f} s")


def test_scale(sandbox: sandbox_module.Sandbox, kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("apply", "--server-side", "-f", str(Path(__file__).resolve().parents[2] / "crds"))
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    kubectl("create", "namespace", NAMESPACE)
    ns = kubectl.in_namespace(NAMESPACE)
    edge, cloud = sandbox.edge, sandbox.cloud
    port = processes.free_port()
    operator = OperatorProcess(sandbox.kube.kubeconfig, tmp_path / "operator.log", f"--metrics-port={port}")
    operator.extra = (*operator.extra, f"--namespace={NAMESPACE}")
    operator.start()
    try:
        ns.apply(
            manifests.secret("edge-token", NAMESPACE, edge.token),
            manifests.secret("cloud-token", NAMESPACE, cloud.token),
            manifests.instance(
                "edge", NAMESPACE, url=edge.url, org=edge.org, secret="edge-token", resync=f"{PERIOD:.0f}s"
            ),
            manifests.remote(
                "cloud", NAMESPACE, instance="edge", url=cloud.url, org_id=cloud.orgID, secret="cloud-token"
            ),
        )
        docs = [
            manifests.replication(
                f"r{i:05d}",
                NAMESPACE,
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
        assert operator.proc is not None
        pid = operator.proc.pid

        time.sleep(6 * PERIOD)  # settle: the trends' first window (3 periods) is covered
        changes = Changes(sandbox.kube)
        idle = _measure(sandbox.kube, changes, port, pid)

        def write(n: int) -> None:
            now = time.time_ns()
            edge.write("metrics", "\n".join(f"bench,host=h{i} n={n}i,v={i}.5 {now + i}" for i in range(BATCH)))

        with paced(write, every=EVERY) as counts:
            time.sleep(WARMUP * PERIOD)
            steady = _measure(sandbox.kube, changes, port, pid)
        reasons = changes.reasons()
        backlog = changes.backlog()
        print(f"\nbench: {N} replications on one instance (resyncPeriod {PERIOD:.0f}s), windows of {WINDOW} periods")
        print(
            f"  operator watches the data plane:        {'yes' if _watches_data_plane(port) else 'no (before issue 9)'}"
        )
        print(f"  kubectl apply of all manifests:      {applied:8.1f} s")
        print(f"  all Ready after:                      {ready:8.1f} s  ({N / ready:.1f} replications/s)")
        design_calls = 4 if _watches_data_plane(port) else 3  # issue 9 added influxd's /metrics
        _report("idle (design: no Kubernetes writes)", idle, design_calls=design_calls)
        _report(
            f"steady traffic ({BATCH} points every {EVERY:g}s to the edge bucket all {N} replicate; "
            f"{counts[0]} writes, {counts[1]} failed; measured after {WARMUP} periods of it)",
            steady,
            design_calls=design_calls,
        )
        print("  Healthy reasons at the end:           " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
        print(f"  backlog at the end (status): {backlog[0]} replications, {backlog[1]} bytes in all")
        print(f"  operator RSS:                         {measure.rss_mib(pid):8.1f} MiB")
    finally:
        operator.stop()
