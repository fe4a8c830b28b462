"""Changes made behind the operator's back (with the influx CLI's API calls)
are put back within one refresh period."""

from __future__ import annotations

import sandbox as sandbox_module
from support.kubectl import eventually
from support.scenario import Setup

PERIOD = 2  # the test instances' resyncPeriod, in seconds
WITHIN = 5 * PERIOD  # one period, plus the operator's and the API's latency


def test_out_of_band_patch_of_a_replication_is_reverted(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name = f"drift-{setup.unique}"
    setup.kubectl.apply(setup.replication(name, description="declared", maxQueueSizeBytes=50000000))
    replication_id = setup.ready("replication", name)["status"]["id"]
    edge = sandbox.edge
    status, _ = edge.request(
        "PATCH",
        f"/api/v2/replications/{replication_id}",
        {"description": "changed by hand", "maxQueueSizeBytes": 40000000, "dropNonRetryableData": True},
    )
    assert status == 200
    assert edge.request("GET", f"/api/v2/replications/{replication_id}")[1]["description"] == "changed by hand"

    def reverted() -> bool:
        body = edge.request("GET", f"/api/v2/replications/{replication_id}")[1]
        return (body["description"], body["maxQueueSizeBytes"], body["dropNonRetryableData"]) == (
            "declared",
            50000000,
            False,
        )

    eventually(reverted, timeout=WITHIN, what="out-of-band PATCH reverted")
    reasons = [e["reason"] for e in setup.kubectl.events(name)]
    assert "DriftCorrected" in reasons


def test_out_of_band_delete_of_a_replication_is_recreated_once(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name = f"deleted-{setup.unique}"
    setup.kubectl.apply(setup.replication(name))
    old_id = setup.ready("replication", name)["status"]["id"]
    edge = sandbox.edge
    assert edge.request("DELETE", f"/api/v2/replications/{old_id}")[0] == 204

    def recreated() -> str | None:
        listed = edge.replications(name=name)
        return listed[0]["id"] if len(listed) == 1 and listed[0]["id"] != old_id else None

    new_id = eventually(recreated, timeout=WITHIN, what="replication recreated")
    status = eventually(
        lambda: (r := setup.kubectl.get("replication", name)) and r["status"].get("id") == new_id and r["status"],
        timeout=WITHIN,
        what="new ID recorded",
    )
    assert status["localBucketID"] == setup.edge_bucket_id
    listed = edge.replications(name=name)
    assert [r["id"] for r in listed] == [new_id]  # exactly one, never two
    assert "Recreated" in [e["reason"] for e in setup.kubectl.events(name)]


def test_out_of_band_changes_to_a_remote_are_reverted_and_delete_recreates(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    edge = sandbox.edge
    remote_id = setup.ready("remoteconnection", "cloud")["status"]["id"]
    status, _ = edge.request(
        "PATCH", f"/api/v2/remotes/{remote_id}", {"remoteURL": "http://127.0.0.1:1", "description": "by hand"}
    )
    assert status == 200
    eventually(
        lambda: edge.request("GET", f"/api/v2/remotes/{remote_id}")[1]["remoteURL"] == sandbox.cloud.url,
        timeout=WITHIN,
        what="remote URL reverted",
    )
    assert edge.request("GET", f"/api/v2/remotes/{remote_id}")[1].get("description", "") == ""

    # No replication uses it yet, so InfluxDB lets it be deleted.
    assert edge.request("DELETE", f"/api/v2/remotes/{remote_id}")[0] == 204
    new_id = eventually(
        lambda: (
            (r := setup.kubectl.get("remoteconnection", "cloud"))
            and r["status"].get("id") != remote_id
            and r["status"]["id"]
        ),
        timeout=WITHIN,
        what="remote recreated",
    )
    assert edge.request("GET", f"/api/v2/remotes/{new_id}")[0] == 200
    named = edge.request("GET", f"/api/v2/remotes?orgID={edge.orgID}&name=cloud-{setup.unique}")[1]["remotes"]
    assert [r["id"] for r in named] == [new_id]


def test_deleted_local_bucket_is_reported_then_the_stream_comes_back(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    """InfluxDB silently deletes a bucket's replications with the bucket."""
    edge = sandbox.edge
    name = f"bucketless-{setup.unique}"
    setup.kubectl.apply(setup.replication(name))
    old_id = setup.ready("replication", name)["status"]["id"]
    assert edge.request("DELETE", f"/api/v2/buckets/{setup.edge_bucket_id}")[0] == 204
    assert edge.request("GET", f"/api/v2/replications/{old_id}")[0] == 404

    blocked = setup.kubectl.wait_reason("replication", name, "BucketNotFound", timeout=WITHIN)
    assert setup.edge_bucket in blocked["message"]

    new_bucket_id = edge.create_bucket(setup.edge_bucket)
    status = setup.kubectl.wait_ready("replication", name, timeout=WITHIN)["status"]
    assert status["id"] != old_id
    assert status["localBucketID"] == new_bucket_id
    listed = edge.replications(name=name)
    assert [r["id"] for r in listed] == [status["id"]]
