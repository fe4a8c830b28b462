"""Heartbeats on real servers: they wake influxd's queue when the remote comes
back after an outage, where a quiet edge waits out influxd's backoff, and
they give the end-to-end lag.

A 10-minute outage is not waited for: what it leaves behind is influxd's
count of failed attempts above 10, after which its writer waits 15 minutes
between tries (`maximumAttempts`/`maximumBackoffTime` in
replications/remotewrite/writer.go). New data queued at the edge makes
influxd retry at once, so writing a point per attempt while the remote is
down reaches that count in seconds; influxd's own log (`retries=N`) shows it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import sandbox as sandbox_module
from sandbox import influx
from support import manifests
from support.kubectl import Kubectl, eventually
from support.operator_process import OperatorProcess
from support.scenario import ScratchInfluxd

INTERVAL = 4.0  # the heartbeat interval; a multiple of the tests' 2s resync period


def _retries(log: Path, replication_id: str) -> int:
    """influxd's count of failed attempts for the replication, from its log."""
    pattern = re.compile(rf"replication_id={replication_id}\b.*\bretries=(\d+)")
    counts = [int(m.group(1)) for line in log.read_text(errors="replace").splitlines() if (m := pattern.search(line))]
    return max(counts, default=0)


def _remaining(edge: influx.Influx, replication_id: str) -> int:
    return int(edge.request("GET", f"/api/v2/replications/{replication_id}")[1]["remainingBytesToBeSynced"])


def test_heartbeats_drain_a_backlog_influxd_would_leave_for_15_minutes_and_give_the_lag(
    sandbox: sandbox_module.Sandbox,
    kubectl: Kubectl,
    operator: OperatorProcess,
    namespace: str,
    scratch_influxd: ScratchInfluxd,
) -> None:
    edge_server, edge = scratch_influxd("hb-edge")
    cloud_server, cloud = scratch_influxd("hb-cloud")
    ns = kubectl.in_namespace(namespace)
    for bucket in ("beating", "quiet"):
        edge.create_bucket(bucket)
    streams = {
        name: manifests.replication(
            name, namespace, instance="edge", local_bucket=name, connection="cloud", remote_bucket="metrics", **spec
        )
        for name, spec in {
            "beating": {
                "heartbeat": {
                    "interval": f"{INTERVAL:.0f}s",
                    "remoteReadTokenSecretRef": {"name": "cloud-token", "key": "token"},
                }
            },
            "quiet": {},
        }.items()
    }
    ns.apply(
        manifests.secret("edge-token", namespace, edge.token),
        manifests.secret("cloud-token", namespace, cloud.token),
        manifests.instance("edge", namespace, url=edge.url, org=edge.org, secret="edge-token"),
        manifests.remote("cloud", namespace, instance="edge", url=cloud.url, org_id=cloud.orgID, secret="cloud-token"),
        *streams.values(),
    )
    ids = {name: ns.wait_ready("replication", name)["status"]["id"] for name in streams}
    eventually(lambda: cloud.count("metrics", "replication_heartbeat") > 0, timeout=30, what="heartbeats at the cloud")
    lag = eventually(lambda: ns.get("replication", "beating")["status"].get("dataPlane", {}).get("lag"), what="lag")  # type: ignore[index]
    print(f"\nheartbeat lag while healthy: {lag}")

    cloud_server.stop()
    n = 0
    while min(_retries(edge_server.log, ids[name]) for name in streams) <= 10:
        for name in streams:
            edge.write(name, f"outage,n={n} v={n}i {time.time_ns()}")
        n += 1
        assert n < 400, "influxd never counted 10 failed attempts"
        time.sleep(0.05)
    assert all(_remaining(edge, ids[name]) > 0 for name in streams)
    quiet_since = time.monotonic()  # from here on only heartbeats are written

    cloud_server.start()
    back = time.monotonic()
    eventually(lambda: _remaining(edge, ids["beating"]) == 0, timeout=60, interval=0.2, what="beating drained")
    drained = time.monotonic() - back
    time.sleep(2 * INTERVAL)
    still = _remaining(edge, ids["quiet"])
    waited = time.monotonic() - back
    print(
        f"heartbeats on: backlog drained {drained:.1f}s after the cloud returned (interval {INTERVAL:.0f}s); "
        f"off: {still} bytes still queued after {waited:.0f}s (quiet for {time.monotonic() - quiet_since:.0f}s; "
        "influxd retries after its 15-minute backoff)"
    )
    assert drained <= 2 * INTERVAL + 1  # one refresh period of slack in when the beat is due
    assert still > 0
    assert cloud.count("metrics", "outage") == n  # every outage point of the beating stream arrived
    recovered = eventually(
        lambda: (d := ns.get("replication", "beating")["status"].get("dataPlane", {})).get("lag") and d,  # type: ignore[index]
        what="lag after the outage",
    )
    assert recovered["lag"]
