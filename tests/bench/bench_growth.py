"""`make bench`'s growth table: how the operator's cost grows with the number of
Replications, every figure next to InfluxDB's own floor measured in the same run.

For each size N in BENCH_SIZES (default "100 300"; issue 11's are "1000 10000")
and each fleet size I in BENCH_INSTANCES (default "1"), N Replications spread
evenly over I fresh edge influxd, each behind an InfluxDBInstance
(`resyncPeriod: 5s`) and a RemoteConnection, in a namespace of their own:

- apply: one `kubectl apply` of all N Replications, the operator running;
- Ready after apply: from the apply's return until all N are Ready;
- raw create floor: N/I creates straight to each of I fresh influxd (8 threads
  each, all at once);
- backlog: N spec changes (maxAgeSeconds) applied while the operator is down
  (stopped once it had settled after the apply: no write of its own pending),
  then the time from its start until every one is observed and Ready;
- raw PATCH floor: N/I PATCHes straight to each of those (8 threads each);
- K8s write floor: N status patches straight to the API server (8 threads),
  with the operator stopped and nothing else watching: a backlog writes every
  changed object's status once, and on a machine of two cores the API server's
  work for that competes with everything else, so the backlog is shown against
  both floors (it also posts an Event per change, which neither floor counts);
- backlog busy % and its CPU: how busy the machine's cores were during the
  backlog, and the CPU seconds the operator, kube-apiserver with etcd, and
  every influxd spent in it: where its time went, on cores they all share;
- list: one listing of the N/I from one influxd, what a refresh asks each period;
- quiet after: from the backlog's end until a period passes without a
  Kubernetes write (the trends' first windows, at least six periods);
- at rest, after that: InfluxDB calls per refresh of an instance, Kubernetes
  writes per period, the share of Replications a refresh skipped as idle and unchanged,
  how long one instance's refresh took (the next starts a period after it ends)
  and how much of that its InfluxDB calls took,
  CPU, RSS, and the operator's CPU for one scrape of its metrics (gzipped,
  as Prometheus asks for them).

Per-object time in each phase, from the smallest size to the largest, shows the
growth. Nothing here asserts a time.

`BENCH_PROFILE=1` runs the operator under cProfile and prints, per size, the
functions where the operator's time went (cumulative), from its second start
through the backlog and the rest window; `BENCH_PROFILE=memory` runs it under
tracemalloc and prints where the memory it holds at the end of the rest window
was allocated, and the same on the way to its peak.
Both slow it down, so the figures of such a run are not comparable with others.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import io
import json
import os
import pstats
import signal
import ssl
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox as sandbox_module
from sandbox import influx, processes
from sandbox import kube as kube_module
from support import manifests, measure
from support.kubectl import Kubectl, eventually
from support.operator_process import OperatorProcess

pytestmark = pytest.mark.timeout(0)  # a bench of thousands runs as long as it takes

SIZES = [int(size) for size in os.environ.get("BENCH_SIZES", "100 300").split()]
FLEETS = [int(count) for count in os.environ.get("BENCH_INSTANCES", "1").split()]
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


def floors(work: Path, n: int, fleet: int) -> tuple[float, float, float]:
    """`raw_floor` on `fleet` fresh influxd at once, N/fleet objects each: the slowest one's."""
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                influx.server(work / f"floor-{n}-{i}", f"floor-{n}-{i}", org="floor", bucket="metrics")
            )[1]
            for i in range(fleet)
        ]
        with ThreadPoolExecutor(fleet) as pool:
            results = list(pool.map(lambda server: raw_floor(server, n // fleet), servers))
    creates, patches, listings = zip(*results, strict=True)
    return max(creates), max(patches), max(listings)


def kube_floor(kube: kube_module.Kube, namespace: str, n: int) -> float:
    """N status patches straight to the API server, THREADS at a time, each
    thread on one kept-alive connection (as the operator's clients are)."""
    path = f"/apis/{manifests.API}/namespaces/{namespace}/replications/{{}}/status"
    body = json.dumps({"status": {"lastSyncTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})
    headers = {"Authorization": f"Bearer {kube.admin_token}", "Content-Type": "application/merge-patch+json"}
    url, context = urllib.parse.urlsplit(kube.url), ssl.create_default_context(cafile=str(kube.ca_file))
    local, opened = threading.local(), list[http.client.HTTPSConnection]()

    def patch(name: str) -> None:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPSConnection(url.hostname or "", url.port, context=context, timeout=60)
            opened.append(local.connection)
        local.connection.request("PATCH", path.format(name), body=body, headers=headers)
        response = local.connection.getresponse()
        response.read()
        assert response.status == 200, response.status

    try:
        return _timed_in_threads(patch, [f"r{i:05d}" for i in range(n)])[0]
    finally:
        for connection in opened:
            connection.close()


def _manifests(path: Path, namespace: str, n: int, fleet: int, *, max_age: int) -> Path:
    docs = [
        manifests.replication(
            f"r{i:05d}",
            namespace,
            instance=f"edge{i % fleet}",
            local_bucket="metrics",
            connection=f"cloud{i % fleet}",
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


def run_size(sandbox: sandbox_module.Sandbox, kubectl: Kubectl, work: Path, n: int, fleet: int) -> dict[str, float]:
    namespace = f"growth-{n}-{fleet}"
    kubectl("create", "namespace", namespace)
    ns = kubectl.in_namespace(namespace)
    figures: dict[str, float] = {}
    figures["create floor"], figures["patch floor"], figures["listing"] = floors(work, n, fleet)
    with contextlib.ExitStack() as stack:
        edges = [
            stack.enter_context(influx.server(work / f"edge-{n}-{i}", f"edge-{n}-{i}", org="edge", bucket="metrics"))[1]
            for i in range(fleet)
        ]
        cloud = sandbox.cloud
        ns.apply(manifests.secret("cloud-token", namespace, cloud.token))
        for i, edge in enumerate(edges):
            ns.apply(
                manifests.secret(f"edge{i}-token", namespace, edge.token),
                manifests.instance(
                    f"edge{i}", namespace, url=edge.url, org=edge.org, secret=f"edge{i}-token", resync="5s"
                ),
                manifests.remote(
                    f"cloud{i}",
                    namespace,
                    instance=f"edge{i}",
                    url=cloud.url,
                    org_id=cloud.orgID,
                    secret="cloud-token",
                    name=f"cloud{i}",
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
            for i in range(fleet):  # profiled: slow to start
                ns.wait_ready("remoteconnection", f"cloud{i}", timeout=600 if PROFILE else 60)
            started = time.monotonic()
            ns(
                "apply",
                "-f",
                str(_manifests(work / f"first-{n}.yaml", namespace, n, fleet, max_age=3600)),
                timeout=7200,
            )
            figures["apply"] = time.monotonic() - started
            figures["ready after apply"] = latest.wait(n)
            # Settled before it stops (data-plane figures shown once their window is
            # covered): the backlog is then the changes' work alone.
            time.sleep(SETTLE * PERIOD)
            _until_quiet(sandbox.kube, n, "the apply")

            operator.stop()
            ns(
                "apply",
                "-f",
                str(_manifests(work / f"second-{n}.yaml", namespace, n, fleet, max_age=7200)),
                timeout=7200,
            )
            parts, machine = _parts_cpu(), measure.machine_cpu()
            operator.start()
            figures["backlog"] = latest.wait(n, generation=2)
            (busy, every), (kube_cpu, influxd_cpu) = measure.machine_cpu(), _parts_cpu()
            figures["backlog busy"] = 100 * (busy - machine[0]) / (every - machine[1])
            figures["backlog operator cpu"] = measure.cpu_seconds(_pid(operator))
            figures["backlog kube cpu"], figures["backlog influxd cpu"] = kube_cpu - parts[0], influxd_cpu - parts[1]
            changed = sum(1 for edge in edges for r in edge.replications() if r["maxAgeSeconds"] == 7200)
            assert changed == n, f"{changed} of {n} replications changed in InfluxDB"

            time.sleep(SETTLE * PERIOD)  # the trends' first windows pass; then, once quiet, the rest window
            figures["quiet after"] = SETTLE * PERIOD + _until_quiet(sandbox.kube, n, "the backlog")
            # The operator's scrapes cost it CPU: outside the CPU window (the first one
            # measured alone).
            cpu = measure.cpu_seconds(_pid(operator))
            before = measure.scrape(port)
            figures["scrape"] = measure.cpu_seconds(_pid(operator)) - cpu
            writes, cpu = measure.kube_writes(sandbox.kube), measure.cpu_seconds(_pid(operator))
            time.sleep(REST * PERIOD)
            figures["cpu"] = 100 * (measure.cpu_seconds(_pid(operator)) - cpu) / (REST * PERIOD)
            after = measure.scrape(port)

            def grown(name: str, **labels: str) -> float:
                return measure.total(after, name, **labels) - measure.total(before, name, **labels)

            # Per refresh (each is one instance's), not per period of wall time: a refresh
            # starts a period after the last one ended, so a window of a few periods holds
            # one refresh more or less than it has periods.
            refreshes = max(1.0, grown("influxdb_operator_refresh_duration_seconds_count"))
            figures["calls"] = grown("influxdb_operator_influxdb_api_calls_total") / refreshes
            unchanged = grown("influxdb_operator_reconciles_total", outcome="unchanged")
            figures["skipped"] = 100 * unchanged / (refreshes * n / fleet)
            figures["refresh"] = grown("influxdb_operator_refresh_duration_seconds_sum") / refreshes
            figures["waiting"] = grown("influxdb_operator_influxdb_api_call_duration_seconds_sum") / refreshes
            figures["writes"] = sum((measure.kube_writes(sandbox.kube) - writes).values()) / REST
            figures["rss"] = measure.rss_mib(_pid(operator))
            if PROFILE == "memory":
                os.kill(_pid(operator), signal.SIGUSR1)
                eventually(profile.exists, timeout=600, what="the memory profile written")
            operator.stop()
            # Alone: this process's watch would decode every write's event, in
            # the floor's clients' interpreter (it stops at the first one).
            latest.close()
            figures["kube floor"] = kube_floor(sandbox.kube, namespace, n)
        finally:
            latest.close()
            operator.stop()
        if PROFILE == "1":
            print(f"\nprofile of the operator at N={n} (start, backlog, rest):\n{_profile(profile)}")
        elif PROFILE == "memory":
            print(f"\nmemory of the operator at N={n}, at the end of the rest window:\n{profile.read_text()}")
            peak = profile.with_suffix(".peak").read_text()
            print(f"\nits last dump on the way to its peak (each a fifth above the one before):\n{peak}")
    return figures


def _until_quiet(kube: kube_module.Kube, n: int, after: str) -> float:
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
        print(f"\nN={n}: the last busy period after {after} wrote {dict(busy)}")
    return time.monotonic() - started - PERIOD


def _parts_cpu() -> tuple[float, float]:
    """CPU seconds so far of (kube-apiserver and etcd, every influxd)."""
    return measure.cpu_of_commands("kube-apiserver", "etcd"), measure.cpu_of_commands("influxd")


def _pid(operator: OperatorProcess) -> int:
    assert operator.proc is not None
    return operator.proc.pid


COLUMNS = [
    ("N", "", "{n:>7}"),
    ("I", "", "{fleet:>4}"),
    ("apply", "s", "{apply:>8.1f}"),
    ("Ready", "after s", "{ready after apply:>8.1f}"),
    ("create", "floor s", "{create floor:>8.1f}"),
    ("backlog", "s", "{backlog:>8.1f}"),
    ("PATCH", "floor s", "{patch floor:>8.1f}"),
    ("K8s wr", "floor s", "{kube floor:>8.1f}"),
    ("backlog/", "PATCH fl", "{per patch:>8.2f}"),
    ("backlog/", "both fl", "{per both:>8.2f}"),
    ("backlog", "busy %", "{backlog busy:>7.0f}"),
    ("its CPU", "oper s", "{backlog operator cpu:>7.1f}"),
    ("its CPU", "k8s s", "{backlog kube cpu:>7.1f}"),
    ("its CPU", "influx s", "{backlog influxd cpu:>8.1f}"),
    ("list", "ms", "{listing ms:>6.0f}"),
    ("quiet", "after s", "{quiet after:>7.0f}"),
    ("calls/", "refresh", "{calls:>8.1f}"),
    ("K8s", "wr/per", "{writes:>7.1f}"),
    ("idle", "skip %", "{skipped:>6.0f}"),
    ("refresh", "s", "{refresh:>7.2f}"),
    ("of it", "InfluxDB", "{waiting:>8.2f}"),
    ("CPU", "%", "{cpu:>6.1f}"),
    ("scrape", "CPU ms", "{scrape ms:>7.0f}"),
    ("RSS", "MiB", "{rss:>7.0f}"),
]


def _row(n: int, fleet: int, f: dict[str, float]) -> str:
    row = dict(f, n=n, fleet=fleet, **{"listing ms": 1000 * f["listing"], "scrape ms": 1000 * f["scrape"]})
    row["per patch"] = f["backlog"] / f["patch floor"]
    row["per both"] = f["backlog"] / (f["patch floor"] + f["kube floor"])
    return " ".join(fmt.format_map(row) for _, _, fmt in COLUMNS)


def test_growth(sandbox: sandbox_module.Sandbox, kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("apply", "--server-side", "-f", str(Path(__file__).resolve().parents[2] / "crds"))
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    widths = [len(fmt.format_map(collections.defaultdict(int))) for _, _, fmt in COLUMNS]
    table = [
        f"growth: N Replications over I instances (resyncPeriod {PERIOD:.0f}s), floors measured in this run",
        " ".join(f"{head:>{w}}" for (head, _, _), w in zip(COLUMNS, widths, strict=True)),
        " ".join(f"{unit:>{w}}" for (_, unit, _), w in zip(COLUMNS, widths, strict=True)),
    ]
    results: dict[tuple[int, int], dict[str, float]] = {}
    for fleet in FLEETS:
        for n in SIZES:
            results[n, fleet] = run_size(sandbox, kubectl, tmp_path, n, fleet)
            table.append(_row(n, fleet, results[n, fleet]))
            print("\n" + "\n".join(table), flush=True)  # so far: a long run shows each size as it ends
    small, large = min(SIZES), max(SIZES)
    for fleet in FLEETS if small != large else []:
        print(f"per-object time over {fleet} instance(s), N={large} against N={small} (1.0: linear):")
        for phase in ("apply", "ready after apply", "create floor", "backlog", "patch floor", "kube floor", "listing"):
            per_small, per_large = results[small, fleet][phase] / small, results[large, fleet][phase] / large
            print(f"  {phase:<18} {per_large / per_small:5.2f}x")
