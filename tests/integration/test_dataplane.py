"""The data plane watched on real servers: a stall that the last response code
hides, a queue filling up (forecast checked against the time it really takes)
and the data it then loses, counted as influxd counts it."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import sandbox as sandbox_module
from sandbox import influx, processes
from support import manifests
from support.kubectl import Kubectl, condition, eventually
from support.operator_process import OperatorProcess
from support.pacing import paced
from support.scenario import ScratchInfluxd

MIN_QUEUE = 33554430
WINDOW = "6s"  # stalledAfter: three periods of the tests' 2s resync


def _stream(
    sandbox: sandbox_module.Sandbox, ns: Kubectl, namespace: str, *, url: str, org_id: str, token: str, **spec: Any
) -> dict[str, Any]:
    """Edge instance, a remote at `url` and a Replication "stream" on a fresh edge bucket; Ready."""
    bucket = f"dp-{namespace}"
    sandbox.edge.create_bucket(bucket)
    ns.apply(
        manifests.secret("edge-token", namespace, sandbox.edge.token),
        manifests.secret("remote-token", namespace, token),
        manifests.instance("edge", namespace, url=sandbox.edge.url, org=sandbox.edge.org, secret="edge-token"),
        # Names in InfluxDB are per org, which all tests share.
        manifests.remote(
            "remote",
            namespace,
            instance="edge",
            url=url,
            org_id=org_id,
            secret="remote-token",
            name=f"remote-{namespace}",
        ),
        manifests.replication(
            "stream",
            namespace,
            instance="edge",
            local_bucket=bucket,
            connection="remote",
            remote_bucket="metrics",
            name=f"stream-{namespace}",
            **spec,
        ),
    )
    ns.wait_ready("remoteconnection", "remote")
    ns.wait_ready("replication", "stream")
    # The trend starts with the first refresh that sees the stream.
    eventually(lambda: _status(ns).get("dataPlane"), what="trend")
    return {"bucket": bucket}


def _health(ns: Kubectl) -> dict[str, Any]:
    return condition(ns.get("replication", "stream"), "Healthy")


def _status(ns: Kubectl) -> dict[str, Any]:
    return dict((ns.get("replication", "stream") or {}).get("status") or {})


def test_a_frozen_remote_is_reported_stalled_although_the_last_code_is_204_and_nothing_is_lost(
    sandbox: sandbox_module.Sandbox,
    kubectl: Kubectl,
    operator: OperatorProcess,
    namespace: str,
    scratch_influxd: ScratchInfluxd,
) -> None:
    server, cloud = scratch_influxd("frozen")
    ns = kubectl.in_namespace(namespace)
    made = _stream(
        sandbox, ns, namespace, url=cloud.url, org_id=cloud.orgID, token=cloud.token, health={"stalledAfter": WINDOW}
    )
    edge, bucket = sandbox.edge, made["bucket"]
    edge.write(bucket, f"beat,n=0 v=0 {time.time_ns()}")
    eventually(lambda: cloud.count("metrics", "beat") == 1, timeout=30, what="first point at the cloud")
    eventually(lambda: _status(ns).get("latestResponseCode") == 204, what="204")

    server.freeze()
    try:
        with paced(lambda n: edge.write(bucket, f"beat,n={n + 1} v={n + 1} {time.time_ns()}"), every=0.5) as sent:
            stalled = eventually(
                lambda: (h := _health(ns)).get("reason") == "Stalled" and h, timeout=60, what="Stalled"
            )
            status = _status(ns)
        assert status["latestResponseCode"] == 204  # what a user of the API alone would believe
        assert stalled["status"] == "False"
    finally:
        server.thaw()
    assert sent[1] == 0, f"{sent[1]} writes at the edge failed"
    total = 1 + sent[0]
    eventually(lambda: cloud.count("metrics", "beat") == total, timeout=150, what=f"all {total} points at the cloud")
    eventually(lambda: _health(ns).get("status") == "True", timeout=60, what="healthy again")
    reasons = [e["reason"] for e in ns.events("stream")]
    assert reasons.count("Stalled") == 1
    assert "HealthyAgain" in reasons


def _duration(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([smhd])", text).groups()  # type: ignore[union-attr]
    return float(number) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def _influxd_counter(server: influx.Influx, name: str, replication_id: str) -> float:
    text = server.request("GET", "/metrics")[1]
    match = re.search(rf'^replications_queue_{name}{{replicationID="{replication_id}"}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_a_filling_queue_is_forecast_then_its_losses_are_counted_as_influxd_counts_them(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: OperatorProcess, namespace: str
) -> None:
    ns = kubectl.in_namespace(namespace)
    nowhere = f"http://127.0.0.1:{processes.free_port()}"  # the remote is down throughout
    made = _stream(
        sandbox,
        ns,
        namespace,
        url=nowhere,
        org_id="abcdef0123456789",
        token="unused-token",
        maxQueueSizeBytes=MIN_QUEUE,
        health={"stalledAfter": WINDOW},
    )
    edge, bucket = sandbox.edge, made["bucket"]
    replication_id = _status(ns)["id"]

    def batch(n: int) -> str:
        # Random text: influxd compresses what it queues, so only this fills the queue as fast as it is written.
        return "\n".join(f'fill,n={n},i={i} s="{secrets.token_urlsafe(750)}"' for i in range(700))

    def queued() -> int:
        return int(edge.request("GET", f"/api/v2/replications/{replication_id}")[1]["currentQueueSizeBytes"])

    with paced(lambda n: edge.write(bucket, batch(n)), every=0.5) as written:
        # At ~1 MB/s (compressed) the 32 MiB queue fills in about half a minute.
        eventually(lambda: _health(ns).get("reason") == "QueueFillingUp", timeout=60, what="QueueFillingUp")
        time.sleep(_duration(WINDOW) + 2)  # a whole window of steady writing behind the forecast
        # The exact figure, as exported; status shows it rounded and steadied.
        full_in = operator.metric("influxdb_replication_queue_full_in_seconds", namespace=namespace, name="stream")
        assert full_in is not None
        forecast_at, forecast = time.monotonic(), full_in
        assert _status(ns)["dataPlane"]["queueFullIn"] != "never"
        eventually(lambda: queued() >= MIN_QUEUE - (1 << 20), timeout=180, interval=0.2, what="queue full")
        actual = time.monotonic() - forecast_at
        print(f"\nforecast: queue full in {forecast:.0f}s; it took {actual:.0f}s")
        assert abs(forecast - actual) <= 0.2 * actual + 2  # 20%, and a refresh period's worth of timing
        lost = eventually(lambda: (h := _health(ns)).get("reason") == "DataLost" and h, timeout=60, what="DataLost")
    assert written[1] == 0, f"{written[1]} writes at the edge failed"
    assert "refused by a full queue" in lost["message"]

    def agree() -> tuple[float, float] | None:
        ours = _status(ns)["dataPlane"]["droppedBytes"]
        theirs = _influxd_counter(edge, "bytes_failed_to_queue", replication_id)
        return (ours, theirs) if ours == theirs > 0 else None

    ours, _ = eventually(agree, timeout=30, what="dropped bytes equal to influxd's own counter")
    exported = operator.metric(
        "influxdb_replication_dropped_bytes_total", namespace=namespace, name="stream", cause="queue_full"
    )
    assert exported == ours  # what the ReplicationLosingData alert fires on
    assert [e["reason"] for e in ns.events("stream")].count("DataLost") == 1
