"""`make bench`'s growth table: how the operator's cost grows with the number of
Replications, every figure next to InfluxDB's own floor measured in the same run.

For each size N in BENCH_SIZES (default "100 300"; issue 11's are "1000 3000"),
on a fresh edge influxd of its own, behind one InfluxDBInstance
(`resyncPeriod: 5s`) and one RemoteConnection, in a namespace of its own:

- apply: one `kubectl apply` of all N Replications, the operator running;
- Ready after apply: from the apply's return until all N are Ready;
- raw create floor: N creates straight to a fresh influxd (8 threads);
- backlog: N spec changes (maxAgeSeconds) applied while the operator is down,
  then the time from its start until every one is observed and Ready;
- raw PATCH floor: N PATCHes straight to that influxd (8 threads);
- list: one listing of the N from that influxd, what a refresh asks each period;
- quiet after: from the backlog's end until a period passes without a
  Kubernetes write (the trends' first windows, at least six periods);
- at rest, after that: InfluxDB calls and Kubernetes writes per period, CPU, RSS.

Per-object time in each phase, from the smallest size to the largest, shows the
growth. Nothing here asserts a time.

`BENCH_PROFILE=1` runs the operator under cProfile and prints, per size, the
functions where the operator's time went (cumulative), from its second start
through the backlog and the rest window; `BENCH_PROFILE=memory` runs it under
tracemalloc and prints where the memory it holds at the end was allocated.
Both slow it down, so the figures of such a run are not comparable with others.
"""

from __future__ import annotations

import collections
import io
import os
import pstats
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox as sandbox_module
from sandbox import influx, processes
from sandbox import kube as kube_module
from support import manifests, measure
from support.kubectl import Kubectl
from support.operator_process import OperatorProcess

pytestmark = pytest.mark.timeout(0)  # a bench of thousands runs as long as it takes

SIZES = [int(size) for size in os.environ.get("BENCH_SIZES", "100 300").split()]
PROFILE = os.environ.get("BENCH_PROFILE", "")  # "1": where the time goes; "memory": where the memory is
PERIOD = 5.0
REST = 3  # periods measured at rest
SETTLE = 6  # periods after the backlog before that: the trends' first window (3 periods) is covered
QUIET_WITHIN = 60  # periods: then a period without Kubernetes writes, before the rest window
THREADS = 8
# Imported before tracemalloc starts (BENCH_PROFILE=memory): the operator's code and its big dependencies.
PRELOAD = "influxdb_operator.handlers,kubernetes.client.api.core_v1_api,kubernetes.client.api.custom_objects_api"
QUEUE = 67108860


class Latest:
    """The latest copy of every Replication in a namespace, from one watch."""

    def __init__(self, kube: kube_module.Kube, namespace: str) -> None:
        self.path = f"/apis/influxdb.replication.dev/v1alpha1/namespaces/{namespace}/replications"
        self.kube = kube
        self.lock = threading.Lock()
        self.objects: dict[str, dict[str, Any]] = {}
        self.closed = threading.Event()
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        """List, then watch from there; again whenever the watch ends (timeouts, 410 Gone),
        until closed."""
        while not self.closed.is_set():
            try:
                status, listing = self.kube.get(self.path)
                if status != 200:
                    raise OSError(f"listing replications: {status}")
                with self.lock:
                    self.objects = {o["metadata"]["name"]: o for o in listing["items"]}
                self._watch(str(listing["metadata"]["resourceVersion"]))
            except (OSError, ValueError):
                self.closed.wait(1)

    def close(self) -> None:
        self.closed.set()

    def _watch(self, version: str) -> None:
        for event in self.kube.watch(self.path, version, seconds=600):
            if self.closed.is_set():
                return
            if event["type"] not in {"ADDED", "MODIFIED", "DELETED"}:
                return  # an ERROR (e.g. the version is too old): list again
            with self.lock:
                self.objects[event["object"]["metadata"]["name"]] = event["object"]

    def count(self, *, generation: int = 1) -> int:
        """How many are Ready, having observed `generation` (or a later one)."""
        with self.lock:
            objects = list(self.objects.values())
        return sum(1 for o in objects if _ready(o) and (o["status"].get("observedGeneration") or 0) >= generation)

    def wait(self, n: int, *, generation: int = 1, timeout: float = 3600) -> float:
        """Seconds until `n` are Ready at `generation`."""
        started = time.monotonic()
        while self.count(generation=generation) < n:
            assert time.monotonic() - started < timeout, f"{self.count(generation=generation)} of {n} after {timeout}s"
            time.sleep(0.2)
        return time.monotonic() - started


def _ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _timed_in_threads(work: Any, items: list[Any]) -> tuple[float, list[Any]]:
    with ThreadPoolExecutor(THREADS) as pool:
        started = time.monotonic()
        results = list(pool.map(work, items))
        return time.monotonic() - started, results


def raw_floor(server: influx.Influx, n: int) -> tuple[float, float, float]:
    """(N creates, N PATCHes) straight to `server`, THREADS at a time, and one
    listing of the N (the best of three): what a refresh asks each period."""
    status, remote = server.request(
        "POST",
        "/api/v2/remotes",
        {
            "name": "floor",
            "orgID": server.orgID,
            "remoteURL": server.url,
            "remoteAPIToken": server.token,
            "remoteOrgID": server.orgID,
        },
    )
    assert status == 201, remote

    def create(i: int) -> str:
        body = {
            "name": f"r{i:05d}",
            "orgID": server.orgID,
            "remoteID": remote["id"],
            "localBucketID": server.bucketID,
            "remoteBucketID": server.bucketID,
            "maxQueueSizeBytes": QUEUE,
        }
        status, created = server.request("POST", "/api/v2/replications", body)
        assert status == 201, created
        return str(created["id"])

    def patch(replication_id: str) -> None:
        status, patched = server.request("PATCH", f"/api/v2/replications/{replication_id}", {"maxAgeSeconds": 7200})
        assert status == 200, patched

    def listing() -> float:
        started = time.monotonic()
        status, listed = server.request("GET", f"/api/v2/replications?orgID={server.orgID}")
        assert status == 200, listed
        assert len(listed["replications"]) == n
        return time.monotonic() - started

    creates, ids = _timed_in_threads(create, list(range(n)))
    patches, _ = _timed_in_threads(patch, ids)
    return creates, patches, min(listing() for _ in range(3))


def _manifests(path: Path, namespace: str, n: int, *, max_age: int) -> Path:
    docs = [
        manifests.replication(
            f"r{i:05d}",
            namespace,
            instance="edge",
            local_bucket="metrics",
            connection="cloud",
            remote_bucket="metrics",
            maxAgeSeconds=max_age,
        )
        for i in range(n)
    ]
    path.write_text(yaml.safe_dump_all(docs))
    return path


def _profile(path: Path) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def run_size(sandbox: sandbox_module.Sandbox, kubectl: Kubectl, work: Path, n: int) -> dict[str, float]:
    namespace = f"growth-{n}"
    kubectl("create", "namespace", namespace)
    ns = kubectl.in_namespace(namespace)
    figures: dict[str, float] = {}
    with influx.server(work / f"floor-{n}", f"floor-{n}", org="floor", bucket="metrics") as (_, floor):
        figures["create floor"], figures["patch floor"], figures["listing"] = raw_floor(floor, n)
    with influx.server(work / f"edge-{n}", f"edge-{n}", org="edge", bucket="metrics") as (_, edge):
        cloud = sandbox.cloud
        ns.apply(
            manifests.secret("edge-token", namespace, edge.token),
            manifests.secret("cloud-token", namespace, cloud.token),
            manifests.instance("edge", namespace, url=edge.url, org=edge.org, secret="edge-token", resync="5s"),
            manifests.remote(
                "cloud", namespace, instance="edge", url=cloud.url, org_id=cloud.orgID, secret="cloud-token"
            ),
        )
        port = processes.free_port()
        operator = OperatorProcess(
            sandbox.kube.kubeconfig, work / f"operator-{n}.log", f"--metrics-port={port}", f"--namespace={namespace}"
        )
        operator.verbose = False  # as the chart runs it: no debug logs
        profile = work / f"operator-{n}.prof"
        if PROFILE == "1":
            operator.python_args = ("-m", "cProfile", "-o", str(profile))
        elif PROFILE == "memory":
            operator.python_args = (str(Path(__file__).with_name("memdump.py")), str(profile), PRELOAD)
        latest = Latest(sandbox.kube, namespace)
        operator.start()
        try:
            ns.wait_ready("remoteconnection", "cloud", timeout=600 if PROFILE else 60)  # profiled: slow to start
            started = time.monotonic()
            ns("apply", "-f", str(_manifests(work / f"first-{n}.yaml", namespace, n, max_age=3600)), timeout=3600)
            figures["apply"] = time.monotonic() - started
            figures["ready after apply"] = latest.wait(n)

            operator.stop()
            ns("apply", "-f", str(_manifests(work / f"second-{n}.yaml", namespace, n, max_age=7200)), timeout=3600)
            operator.start()
            figures["backlog"] = latest.wait(n, generation=2)
            changed = [r for r in edge.replications() if r["maxAgeSeconds"] == 7200]
            assert len(changed) == n, f"{len(changed)} of {n} replications changed in InfluxDB"

            time.sleep(SETTLE * PERIOD)  # the trends' first windows pass; then, once quiet, the rest window
            figures["quiet after"] = SETTLE * PERIOD + _until_quiet(sandbox.kube, n)
            calls, writes = measure.influx_calls(port), measure.kube_writes(sandbox.kube)
            cpu = measure.cpu_seconds(_pid(operator))
            time.sleep(REST * PERIOD)
            figures["calls"] = (measure.influx_calls(port) - calls) / REST
            figures["writes"] = sum((measure.kube_writes(sandbox.kube) - writes).values()) / REST
            figures["cpu"] = 100 * (measure.cpu_seconds(_pid(operator)) - cpu) / (REST * PERIOD)
            figures["rss"] = measure.rss_mib(_pid(operator))
        finally:
            latest.close()
            operator.stop()
        if PROFILE == "1":
            print(f"\nprofile of the operator at N={n} (start, backlog, rest):\n{_profile(profile)}")
        elif PROFILE == "memory":
            print(f"\nmemory of the operator at N={n}, at its exit after the rest window:\n{profile.read_text()}")
    return figures


def _until_quiet(kube: kube_module.Kube, n: int) -> float:
    """Seconds until a whole period passes without a Kubernetes write (at most
    QUIET_WITHIN periods); says what the last busy period wrote."""
    started, busy = time.monotonic(), collections.Counter[str]()
    for _ in range(QUIET_WITHIN):
        before = measure.kube_writes(kube)
        time.sleep(PERIOD)
        written = measure.kube_writes(kube) - before
        if not written:
            break
        busy = written
    if busy:
        print(f"\nN={n}: the last busy period after the backlog wrote {dict(busy)}")
    return time.monotonic() - started - PERIOD


def _pid(operator: OperatorProcess) -> int:
    assert operator.proc is not None
    return operator.proc.pid


def test_growth(sandbox: sandbox_module.Sandbox, kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("apply", "--server-side", "-f", str(Path(__file__).resolve().parents[2] / "crds"))
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    results = {n: run_size(sandbox, kubectl, tmp_path, n) for n in SIZES}

    print(f"\ngrowth: N Replications on one instance (resyncPeriod {PERIOD:.0f}s), floors measured in this run")
    header = (
        f"{'N':>7} {'apply':>8} {'Ready':>8} {'create':>8} {'Ready/':>7} {'backlog':>8} {'PATCH':>8} "
        f"{'backlog/':>8} {'list':>6} {'quiet':>7} {'calls':>7} {'K8s':>7} {'CPU':>6} {'RSS':>7}"
    )
    units = (
        f"{'':>7} {'s':>8} {'after s':>8} {'floor s':>8} {'floor':>7} {'s':>8} {'floor s':>8} "
        f"{'floor':>8} {'ms':>6} {'after s':>7} {'/period':>7} {'wr/per':>7} {'%':>6} {'MiB':>7}"
    )
    print(header)
    print(units)
    for n, f in results.items():
        print(
            f"{n:>7} {f['apply']:>8.1f} {f['ready after apply']:>8.1f} {f['create floor']:>8.1f} "
            f"{f['ready after apply'] / f['create floor']:>7.2f} {f['backlog']:>8.1f} {f['patch floor']:>8.1f} "
            f"{f['backlog'] / f['patch floor']:>8.2f} {1000 * f['listing']:>6.0f} {f['quiet after']:>7.0f} "
            f"{f['calls']:>7.1f} "
            f"{f['writes']:>7.1f} {f['cpu']:>6.1f} {f['rss']:>7.0f}"
        )
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"per-object time, N={large} against N={small} (1.0: linear):")
        for phase in ("apply", "ready after apply", "create floor", "backlog", "patch floor", "listing"):
            per_small, per_large = results[small][phase] / small, results[large][phase] / large
            print(f"  {phase:<18} {per_large / per_small:5.2f}x")
