"""managementPolicy: Observe on a remote and a replication made with raw API
calls: status mirrors InfluxDB, differences are reported and never
corrected, deletion leaves InfluxDB alone; Manage then takes over only
under the adopt rules."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import sandbox as sandbox_module
from support import canary, manifests
from support.kubectl import KubectlError, condition, eventually
from support.operator_process import OperatorProcess
from support.scenario import Setup

PERIOD = 2  # the test instances' resyncPeriod, in seconds
WITHIN = 5 * PERIOD


def made_by_hand(setup: Setup, sandbox: sandbox_module.Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    """A remote to the cloud and a replication through it, made with raw API calls."""
    edge, cloud = sandbox.edge, sandbox.cloud
    status, remote = edge.request(
        "POST",
        "/api/v2/remotes",
        {
            "name": f"raw-remote-{setup.unique}",
            "orgID": edge.orgID,
            "remoteURL": cloud.url,
            "remoteOrgID": cloud.orgID,
            "remoteAPIToken": cloud.token,
        },
    )
    assert status == 201, remote
    status, replication = edge.request(
        "POST",
        "/api/v2/replications",
        {
            "name": f"raw-rep-{setup.unique}",
            "orgID": edge.orgID,
            "remoteID": remote["id"],
            "localBucketID": setup.edge_bucket_id,
            "remoteBucketName": setup.cloud_bucket,
            "maxQueueSizeBytes": 67108860,
            "maxAgeSeconds": 604800,
        },
    )
    assert status == 201, replication
    return remote, replication


def observed(
    setup: Setup, sandbox: sandbox_module.Sandbox, remote: dict[str, Any], replication: dict[str, Any]
) -> None:
    """Observe the remote by name and the replication by ID; the remote's
    token Secret does not exist: Observe never needs it."""
    kubectl, cloud = setup.kubectl, sandbox.cloud
    kubectl.apply(
        manifests.remote(
            "raw",
            setup.namespace,
            instance="edge",
            url=cloud.url,
            org_id=cloud.orgID,
            secret="no-such-secret",
            name=remote["name"],
            managementPolicy="Observe",
        ),
        manifests.replication(
            "raw",
            setup.namespace,
            instance="edge",
            local_bucket=setup.edge_bucket,
            connection="raw",
            remote_bucket=setup.cloud_bucket,
            name=replication["name"],
            managementPolicy="Observe",
            id=replication["id"],
        ),
    )


def test_observed_replication_mirrors_influxdb_and_is_never_written(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    edge, cloud, kubectl = sandbox.edge, sandbox.cloud, setup.kubectl
    remote, replication = made_by_hand(setup, sandbox)
    observed(setup, sandbox, remote, replication)
    assert setup.ready("remoteconnection", "raw")["status"]["id"] == remote["id"]
    ready = setup.ready("replication", "raw")
    assert ready["status"]["observing"] is True
    assert condition(ready, "Synced")["reason"] == "ReconcileSuccess"

    # Data written at the edge flows through the hand-made stream; status mirrors what InfluxDB says of it.
    edge.write(setup.edge_bucket, f"observed,run={setup.unique} v=1")
    eventually(lambda: cloud.count(setup.cloud_bucket, "observed") >= 1, timeout=30, what="point replicated")

    def mirrored() -> dict[str, Any] | None:
        have = edge.request("GET", f"/api/v2/replications/{replication['id']}")[1]
        obj = kubectl.get("replication", "raw") or {}
        status = obj.get("status") or {}
        shown = {k: status.get(k) for k in ("remoteID", "localBucketID", "latestResponseCode", "currentQueueSizeBytes")}
        wanted = {k: have.get(k) for k in shown}
        healthy = condition(obj, "Healthy")
        return (
            obj
            if shown == wanted and have.get("latestResponseCode") == 204 and healthy.get("status") == "True"
            else None
        )

    obj = eventually(mirrored, timeout=WITHIN * 2, what="status mirrors InfluxDB")
    assert condition(obj, "Healthy")["reason"] == "Replicating"

    # A spec difference is reported once, never corrected.
    kubectl("patch", "replication", "raw", "--type=merge", "-p", json.dumps({"spec": {"description": "wanted"}}))
    drifted = eventually(
        lambda: (c := condition(kubectl.get("replication", "raw"), "Synced")).get("reason") == "DriftDetected" and c,
        timeout=WITHIN,
        what="DriftDetected",
    )
    assert "description is '' in InfluxDB, 'wanted' in the spec" in drifted["message"]
    assert condition(kubectl.get("replication", "raw"), "Ready")["status"] == "True"
    time.sleep(3 * PERIOD)  # three more refreshes: still not corrected, still one Event
    assert edge.request("GET", f"/api/v2/replications/{replication['id']}")[1].get("description", "") == ""
    assert [e["reason"] for e in kubectl.events("raw") if e["involvedObject"]["kind"] == "Replication"].count(
        "DriftDetected"
    ) == 1

    # Deleting the resources leaves InfluxDB's objects alone.
    kubectl("delete", "replication", "raw", "--timeout=30s")
    kubectl("delete", "remoteconnection", "raw", "--timeout=30s")
    assert edge.request("GET", f"/api/v2/replications/{replication['id']}")[0] == 200
    assert edge.request("GET", f"/api/v2/remotes/{remote['id']}")[0] == 200
    assert "Orphaned" in [e["reason"] for e in kubectl.events("raw")]
    canary.assert_nowhere([edge.token, cloud.token], kubectl, operator)


def test_nothing_to_observe_is_reported_and_nothing_created(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name = f"ghost-{setup.unique}"
    setup.kubectl.apply(setup.replication(name, managementPolicy="Observe", id="0000000000000bad"))
    blocked = setup.kubectl.wait_reason("replication", name, "ObjectNotFound", timeout=WITHIN)
    assert "0000000000000bad" in blocked["message"]
    assert "nothing is created" in blocked["message"]
    assert sandbox.edge.replications(name=name) == []
    by_name = f"ghost-by-name-{setup.unique}"
    setup.kubectl.apply(setup.replication(by_name, managementPolicy="Observe"))
    setup.kubectl.wait_reason("replication", by_name, "ObjectNotFound", timeout=WITHIN)
    assert sandbox.edge.replications(name=by_name) == []


def test_id_is_refused_for_manage(setup: Setup) -> None:
    with pytest.raises(KubectlError, match="id is only for managementPolicy: Observe"):
        setup.kubectl.apply(setup.replication(f"pinned-{setup.unique}", id="0000000000000bad"))


def test_switching_to_manage_takes_over_only_under_the_adopt_rules(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    edge, kubectl = sandbox.edge, setup.kubectl
    remote, replication = made_by_hand(setup, sandbox)
    observed(setup, sandbox, remote, replication)
    setup.ready("replication", "raw")
    kubectl(
        "patch",
        "replication",
        "raw",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"managementPolicy": "Manage", "id": None, "description": "managed now"}}),
    )
    conflict = kubectl.wait_reason("replication", "raw", "NameConflict", timeout=WITHIN)
    assert "adoptExisting" in conflict["message"]
    assert edge.request("GET", f"/api/v2/replications/{replication['id']}")[1].get("description", "") == ""
    kubectl("patch", "replication", "raw", "--type=merge", "-p", json.dumps({"spec": {"adoptExisting": True}}))
    eventually(
        lambda: edge.request("GET", f"/api/v2/replications/{replication['id']}")[1].get("description") == "managed now",
        timeout=WITHIN,
        what="drift corrected after the takeover",
    )
    status = setup.ready("replication", "raw")["status"]
    assert status["id"] == replication["id"]
    assert "observing" not in status
    assert "Adopted" in [e["reason"] for e in kubectl.events("raw")]
    # Managed now: deleting the resource deletes the replication.
    kubectl("delete", "replication", "raw", "--timeout=30s")
    assert edge.request("GET", f"/api/v2/replications/{replication['id']}")[0] == 404
