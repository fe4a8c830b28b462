"""Deletion policies, and remotes or instances that others still use."""

from __future__ import annotations

import sandbox as sandbox_module
from support.kubectl import eventually
from support.scenario import Setup


def test_orphan_policy_leaves_the_replication_in_influxdb(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name = f"orphan-{setup.unique}"
    setup.kubectl.apply(setup.replication(name, deletionPolicy="Orphan"))
    replication_id = setup.ready("replication", name)["status"]["id"]
    setup.kubectl("delete", "replication", name, "--timeout=60s")
    assert setup.kubectl.get("replication", name) is None
    status, body = sandbox.edge.request("GET", f"/api/v2/replications/{replication_id}")
    assert status == 200
    assert body["name"] == name
    assert "Orphaned" in [e["reason"] for e in setup.kubectl.events(name)]
    sandbox.edge.request("DELETE", f"/api/v2/replications/{replication_id}")


def test_delete_policy_removes_the_replication_and_its_queue(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name = f"delete-{setup.unique}"
    setup.kubectl.apply(setup.replication(name, deletionPolicy="Delete"))
    replication_id = setup.ready("replication", name)["status"]["id"]
    setup.kubectl("delete", "replication", name, "--timeout=60s")
    assert sandbox.edge.request("GET", f"/api/v2/replications/{replication_id}")[0] == 404


def test_remote_in_use_waits_for_its_replications(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    users = [f"user-a-{setup.unique}", f"user-b-{setup.unique}"]
    for name in users:
        setup.kubectl.apply(setup.replication(name))
        setup.ready("replication", name)
    remote_id = setup.ready("remoteconnection", "cloud")["status"]["id"]

    setup.kubectl("delete", "remoteconnection", "cloud", "--wait=false")
    blocked = setup.kubectl.wait_reason("remoteconnection", "cloud", "InUse", timeout=30)
    assert all(name in blocked["message"] for name in users)
    assert sandbox.edge.request("GET", f"/api/v2/remotes/{remote_id}")[0] == 200
    # The instance, too, refuses to go while anything uses it.
    setup.kubectl("delete", "influxdbinstance", "edge", "--wait=false")
    setup.kubectl.wait_reason("influxdbinstance", "edge", "InUse", timeout=30)

    for name in users:
        setup.kubectl("delete", "replication", name, "--timeout=60s")
    eventually(lambda: setup.kubectl.get("remoteconnection", "cloud") is None, timeout=30, what="remote deleted")
    assert sandbox.edge.request("GET", f"/api/v2/remotes/{remote_id}")[0] == 404
    eventually(lambda: setup.kubectl.get("influxdbinstance", "edge") is None, timeout=30, what="instance deleted")


def test_name_conflict_is_reported_not_duplicated_then_adopted_on_request(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    edge = sandbox.edge
    name = f"taken-{setup.unique}"
    remote_id = setup.ready("remoteconnection", "cloud")["status"]["id"]
    status, existing = edge.request(
        "POST",
        "/api/v2/replications",
        {
            "orgID": edge.orgID,
            "name": name,
            "remoteID": remote_id,
            "localBucketID": setup.edge_bucket_id,
            "remoteBucketName": setup.cloud_bucket,
            "maxQueueSizeBytes": 67108860,
            "maxAgeSeconds": 604800,
        },
    )
    assert status == 201, existing
    setup.kubectl.apply(setup.replication(name, description="managed now"))
    ready = setup.kubectl.wait_reason("replication", name, "NameConflict", timeout=30)
    assert existing["id"] in ready["message"]
    assert "adoptExisting" in ready["message"]
    listed = edge.replications(name=name)
    assert [r["id"] for r in listed] == [existing["id"]]
    assert edge.request("GET", f"/api/v2/replications/{existing['id']}")[1].get("description", "") == ""

    setup.kubectl.apply(setup.replication(name, description="managed now", adoptExisting=True))
    adopted = setup.ready("replication", name)
    assert adopted["status"]["id"] == existing["id"]
    assert edge.request("GET", f"/api/v2/replications/{existing['id']}")[1]["description"] == "managed now"
    assert "Adopted" in [e["reason"] for e in setup.kubectl.events(name)]


def test_orphan_policy_leaves_the_remote_in_influxdb(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    setup.kubectl.apply(
        {
            "apiVersion": "influxdb.replication.dev/v1alpha1",
            "kind": "RemoteConnection",
            "metadata": {"name": "kept", "namespace": setup.namespace},
            "spec": {
                "instanceRef": {"name": "edge"},
                "name": f"kept-{setup.unique}",
                "remoteURL": sandbox.cloud.url,
                "remoteOrgID": sandbox.cloud.orgID,
                "remoteTokenSecretRef": {"name": "cloud-token"},
                "deletionPolicy": "Orphan",
            },
        }
    )
    remote_id = setup.ready("remoteconnection", "kept")["status"]["id"]
    setup.kubectl("delete", "remoteconnection", "kept", "--timeout=60s")
    status, body = sandbox.edge.request("GET", f"/api/v2/remotes/{remote_id}")
    assert status == 200
    assert body["name"] == f"kept-{setup.unique}"
    assert sandbox.edge.request("DELETE", f"/api/v2/remotes/{remote_id}")[0] == 204


def test_deletion_still_cleans_up_after_the_token_secret_is_gone(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    """Deleting a namespace removes its Secrets and resources together; the
    finalizers must not be left without a token."""
    name = f"tokenless-{setup.unique}"
    setup.kubectl.apply(setup.replication(name))
    replication_id = setup.ready("replication", name)["status"]["id"]
    setup.kubectl("delete", "secret", "edge-token")
    setup.kubectl("delete", "replication", name, "--timeout=60s")
    assert sandbox.edge.request("GET", f"/api/v2/replications/{replication_id}")[0] == 404
