"""Each kind's whole life, checked against what InfluxDB really holds, and data
flowing edge -> cloud through a replication made only from custom resources."""

from __future__ import annotations

import time

import sandbox as sandbox_module
from support.kubectl import condition, eventually
from support.scenario import Setup


def test_instance_reports_version_and_org(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    instance = setup.ready("influxdbinstance", "edge")
    status = instance["status"]
    assert isinstance(status, dict)
    assert status["orgID"] == sandbox.edge.orgID
    assert condition(instance, "Synced")["status"] == "True"
    assert str(status["version"]).startswith("v2.") or str(status["version"]).startswith("2.")
    columns = setup.kubectl("get", "influxdbinstances")
    assert sandbox.edge.orgID in columns
    assert "True" in columns


def test_remote_connection_exists_in_influxdb(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    remote = setup.ready("remoteconnection", "cloud")
    remote_id = remote["status"]["id"]
    status, body = sandbox.edge.request("GET", f"/api/v2/remotes/{remote_id}")
    assert status == 200
    assert body["name"] == f"cloud-{setup.unique}"
    assert body["remoteURL"] == sandbox.cloud.url
    assert body["remoteOrgID"] == sandbox.cloud.orgID
    assert "remoteAPIToken" not in body  # write-only in InfluxDB
    assert str(remote["status"]["tokenFingerprint"]).startswith("sha256:")


def test_replication_carries_points_to_the_cloud_and_reports_status(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    name = f"metrics-{setup.unique}"
    setup.kubectl.apply(setup.replication(name))
    replication = setup.ready("replication", name)
    status = replication["status"]
    assert isinstance(status, dict)
    replication_id = status["id"]

    # InfluxDB holds exactly one replication of that name, as declared.
    listed = sandbox.edge.replications(name=name)
    assert [r["id"] for r in listed] == [replication_id]
    seen = listed[0]
    assert seen["localBucketID"] == setup.edge_bucket_id
    assert seen["RemoteBucketName"] == setup.cloud_bucket
    assert seen["maxQueueSizeBytes"] == 67108860
    assert seen["maxAgeSeconds"] == 604800
    assert status["localBucketID"] == setup.edge_bucket_id

    now = time.time_ns()
    sandbox.edge.write(setup.edge_bucket, "\n".join(f"temp,room=r{i} value={i} {now + i}" for i in range(25)))
    eventually(lambda: sandbox.cloud.count(setup.cloud_bucket, "temp") == 25, timeout=30)

    # The refresh mirrors the remote's answer onto the resource.
    replication = eventually(
        lambda: (r := setup.kubectl.get("replication", name)) and r["status"].get("latestResponseCode") == 204 and r,
        timeout=30,
        what="latestResponseCode 204 in status",
    )
    assert replication["status"]["remainingBytesToBeSynced"] == 0
    assert isinstance(replication["status"]["currentQueueSizeBytes"], int)
    assert condition(replication, "Healthy")["status"] == "True"
    assert condition(replication, "Synced")["status"] == "True"
    assert replication["status"]["observedGeneration"] == replication["metadata"]["generation"]

    table = setup.kubectl("get", "replications")
    header = table.splitlines()[0].split()
    assert header[:7] == ["NAME", "ID", "REMOTE", "QUEUE", "BYTES", "REMAINING", "LAST"]
    assert replication_id in table
    assert "204" in table
    # Short name and the shared category work too.
    assert replication_id in setup.kubectl("get", "irep")
    assert replication_id in setup.kubectl("get", "influxdb")


def test_deleting_resources_removes_them_from_influxdb(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name = f"gone-{setup.unique}"
    setup.kubectl.apply(setup.replication(name))
    replication_id = setup.ready("replication", name)["status"]["id"]
    remote_id = setup.ready("remoteconnection", "cloud")["status"]["id"]

    setup.kubectl("delete", "replication", name, "--timeout=60s")
    assert sandbox.edge.request("GET", f"/api/v2/replications/{replication_id}")[0] == 404
    setup.kubectl("delete", "remoteconnection", "cloud", "--timeout=60s")
    assert sandbox.edge.request("GET", f"/api/v2/remotes/{remote_id}")[0] == 404
    setup.kubectl("delete", "influxdbinstance", "edge", "--timeout=60s")
    assert setup.kubectl.get("influxdbinstance", "edge") is None
    reasons = {e["reason"] for e in setup.kubectl.events(name)}
    assert {"Created", "Deleted"} <= reasons
